import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { AuthError } from '../../src/errors.js';
import { clearedCookies, parseCookies } from '../../src/http/cookies.js';
import { createCsrf } from '../../src/http/csrf.js';
import {
  createEventHub,
  type EventHubOptions,
  type EventSink,
  REPLACED_RETRY_MS,
} from '../../src/http/events.js';
import { createRateLimiter } from '../../src/http/rate-limit.js';
import {
  clientAddress,
  credential,
  type HttpRequest,
  sameOrigin,
  view,
} from '../../src/http/request.js';
import { errorResponse } from '../../src/http/response.js';
import { staticFile } from '../../src/http/static.js';
import type { RevocationEvent } from '../../src/revocation/events.js';
import type { Auth } from '../../src/sessions/types.js';
import type { AccessTokenClaims } from '../../src/tokens/types.js';

const req = (
  headers: Record<string, string> = {},
  extra: Partial<HttpRequest> = {},
): HttpRequest => ({
  method: 'POST',
  path: '/auth/logout',
  params: {},
  headers,
  body: undefined,
  remoteAddress: '192.0.2.7',
  ...extra,
});

describe('CSRF tokens (signed double submit)', () => {
  const csrf = createCsrf(Buffer.alloc(32, 7));

  it('3.5.1: accepts only its own token for the right session, header equal to cookie', () => {
    const token = csrf.issue('sid-a');
    expect(csrf.check(token, token, 'sid-a')).toBe(true);
    expect(csrf.check(token, token, 'sid-b')).toBe(false);
    expect(csrf.check(token, csrf.issue('sid-a'), 'sid-a')).toBe(false);
    expect(csrf.check(undefined, token, 'sid-a')).toBe(false);
    expect(csrf.check(token, undefined, 'sid-a')).toBe(false);
    const forged = createCsrf(Buffer.alloc(32, 8)).issue('sid-a');
    expect(csrf.check(forged, forged, 'sid-a')).toBe(false);
  });

  it('7.2.3: nonces are unique and 128 bits', () => {
    const tokens = new Set(Array.from({ length: 2000 }, () => csrf.issue('s')));
    expect(tokens.size).toBe(2000);
    for (const t of [...tokens].slice(0, 10))
      expect(Buffer.from(t.split('.')[0] ?? '', 'base64url')).toHaveLength(16);
  });

  it('11.2.4: arbitrary header/cookie input never throws', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (a, b, sid) => {
        expect(typeof csrf.check(a, b, sid)).toBe('boolean');
      }),
    );
  });

  it('refuses a short secret', () => {
    expect(() => createCsrf(Buffer.alloc(16))).toThrow(RangeError);
  });
});

describe('request parsing', () => {
  it('parses any Cookie header into a value, never an exception', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (header) => {
        expect(typeof parseCookies(header)).toBe('object');
      }),
    );
    expect(parseCookies('a=1; __Host-nb_access=x.y.z')).toEqual({
      a: '1',
      '__Host-nb_access': 'x.y.z',
    });
    expect(parseCookies(`a=${'x'.repeat(9000)}`)).toEqual({});
  });

  it('reads Authorization: Bearer or else the cookie; anything else is an AuthError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (header) => {
        try {
          credential(view(req({ authorization: header })), 'c');
        } catch (error) {
          expect(error).toBeInstanceOf(AuthError);
        }
      }),
    );
    expect(credential(view(req({ authorization: 'bearer abc.def' })), 'c')).toEqual({
      token: 'abc.def',
      via: 'bearer',
    });
    expect(credential(view(req({ cookie: 'c=tok' })), 'c')).toEqual({
      token: 'tok',
      via: 'cookie',
    });
    expect(credential(view(req()), 'c')).toBeNull();
  });

  it('4.1.3: X-Forwarded-For counts only with trustProxy, and then its last hop', () => {
    const r = req({ 'x-forwarded-for': '203.0.113.9, 198.51.100.4' });
    expect(clientAddress(r, false)).toBe('192.0.2.7');
    expect(clientAddress(r, true)).toBe('198.51.100.4');
  });

  it('an unknown peer address is undefined, never a shared placeholder', () => {
    expect(clientAddress(req({}, { remoteAddress: undefined }), false)).toBeUndefined();
    expect(clientAddress(req({}, { remoteAddress: '' }), false)).toBeUndefined();
    const forwarded = req({ 'x-forwarded-for': '198.51.100.4' }, { remoteAddress: undefined });
    expect(clientAddress(forwarded, true)).toBe('198.51.100.4');
    expect(clientAddress(forwarded, false)).toBeUndefined();
  });

  it('same-origin check: Origin vs Host, Sec-Fetch-Site, allowlist', () => {
    const host = { host: 'auth.example:8443' };
    expect(sameOrigin(req(host), [], false)).toBe(true);
    expect(sameOrigin(req({ ...host, origin: 'https://auth.example:8443' }), [], false)).toBe(true);
    expect(sameOrigin(req({ ...host, origin: 'https://evil.example' }), [], false)).toBe(false);
    expect(sameOrigin(req({ ...host, origin: 'null' }), [], false)).toBe(false);
    expect(
      sameOrigin(req({ ...host, origin: 'https://app.example' }), ['https://app.example'], false),
    ).toBe(true);
    expect(sameOrigin(req({ ...host, 'sec-fetch-site': 'same-site' }), [], false)).toBe(false);
    expect(sameOrigin(req({ host: 'localhost:80', origin: 'http://localhost' }), [], false)).toBe(
      true,
    );
  });
});

describe('error answers', () => {
  it('maps every code through the shared table; 401 challenge, 429 Retry-After, 500 without detail', () => {
    const expired = errorResponse(new AuthError('TOKEN_EXPIRED', 'x'));
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toBe(
      'Bearer realm="notbefore", error="invalid_token"',
    );
    const limited = errorResponse(new AuthError('RATE_LIMITED', 'x', { retryAfter: 12.2 }));
    expect(limited.headers['retry-after']).toBe('13');
    const boom = errorResponse(new Error('secret detail'));
    expect(boom.status).toBe(500);
    expect(JSON.stringify(boom.body)).not.toContain('secret detail');
  });

  it('14.3.1: cleared cookies keep names, paths and prefixes, with Max-Age=0', () => {
    const lines = clearedCookies();
    expect(lines.map((l) => l.split('=')[0])).toEqual([
      '__Host-nb_access',
      '__Secure-nb_refresh',
      '__Host-nb_csrf',
    ]);
    for (const l of lines) expect(l).toMatch(/Max-Age=0/);
    expect(lines[1]).toMatch(/Path=\/auth/);
  });
});

describe('rate limiter', () => {
  it('allows `limit` hits per window per key, then says how long to wait', () => {
    const clock = manualClock(0);
    const limiter = createRateLimiter({ limit: 2, clock });
    expect(limiter.hit('a')).toBe(0);
    expect(limiter.hit('a')).toBe(0);
    expect(limiter.hit('b')).toBe(0);
    clock.advance(15_000);
    expect(limiter.hit('a')).toBe(45);
    clock.advance(45_000);
    expect(limiter.hit('a')).toBe(0);
    expect(createRateLimiter({ limit: 0, clock }).hit('a')).toBe(0);
  });

  it('stays bounded in memory', () => {
    const clock = manualClock(0);
    const limiter = createRateLimiter({ limit: 1, clock, maxKeys: 10 });
    for (let i = 0; i < 10; i++) limiter.hit(`k${i}`);
    clock.advance(60_000);
    for (let i = 10; i < 30; i++) expect(limiter.hit(`k${i}`)).toBe(0);
  });
});

describe('event hub', () => {
  const claims = (sid: string, sub: string, expS: number): AccessTokenClaims => ({
    iss: 'i',
    aud: 'a',
    sub,
    sid,
    jti: `j${sid}`,
    iat: 0,
    exp: expS,
    auth_time: 0,
    roles: [],
  });
  const setup = (options: EventHubOptions = {}) => {
    let emit: (event: RevocationEvent) => void = () => {};
    const revoked = new Set<string>();
    const auth = {
      onRevocation: (l: (e: RevocationEvent) => void) => {
        emit = l;
        return () => {};
      },
      verify: (token: string) => {
        if (revoked.has(token)) {
          throw new AuthError('TOKEN_REVOKED', 'revoked', { reason: 'session' });
        }
      },
    } as unknown as Auth;
    const clock = manualClock(0);
    const hub = createEventHub(auth, clock, options);
    const sink = () => {
      const sent: string[] = [];
      let closed = false;
      let retry: number | undefined;
      const s: EventSink = {
        send: (e, d) => sent.push(`${e}:${JSON.stringify(d)}`),
        close: (retryMs) => {
          closed = true;
          retry = retryMs;
        },
      };
      return { s, sent, isClosed: () => closed, retry: () => retry };
    };
    return { hub, sink, revoked, emit: (e: RevocationEvent) => emit(e) };
  };

  it('global revokes every stream; duplicates are sent once', () => {
    const { hub, sink, emit } = setup();
    const a = sink();
    const b = sink();
    hub.add(claims('s1', 'u1', 1000), a.s, 'token');
    hub.add(claims('s2', 'u2', 1000), b.s, 'token');
    const event: RevocationEvent = { kind: 'global', at: 5 };
    emit(event);
    emit(event);
    expect(a.sent).toEqual(['session-revoked:{"sid":"s1","reason":"global"}']);
    expect(b.isClosed()).toBe(true);
    expect(hub.size()).toBe(0);
  });

  it('user scopes: sessions revoke all but exceptSid, tokens only notify', () => {
    const { hub, sink, emit } = setup();
    const kept = sink();
    const other = sink();
    const stranger = sink();
    hub.add(claims('k', 'u', 1000), kept.s, 'token');
    hub.add(claims('o', 'u', 1000), other.s, 'token');
    hub.add(claims('x', 'v', 1000), stranger.s, 'token');
    emit({ kind: 'user', sub: 'u', at: 1, scope: 'tokens', cause: 'roles' });
    expect(kept.sent[0]).toMatch(/^token-claims-change/);
    expect(hub.size()).toBe(3);
    emit({ kind: 'user', sub: 'u', at: 2, scope: 'sessions', cause: 'password', exceptSid: 'k' });
    expect(kept.sent[1]).toMatch(/^credential-change/);
    expect(kept.isClosed()).toBe(false);
    expect(other.sent.at(-1)).toMatch(/^session-revoked/);
    expect(other.isClosed()).toBe(true);
    expect(stranger.sent).toEqual([]);
    emit({ kind: 'token', jti: 'jk', exp: 10, at: 3 });
    expect(hub.size()).toBe(2);
  });

  it('a stream whose session ended between authentication and registration is revoked at once', () => {
    const { hub, sink, revoked } = setup();
    const late = sink();
    revoked.add('revoked-token');
    hub.add(claims('s1', 'u', 1000), late.s, 'revoked-token');
    expect(late.sent).toEqual(['session-revoked:{"sid":"s1","reason":"session"}']);
    expect(late.isClosed()).toBe(true);
    expect(hub.size()).toBe(0);
  });

  it('caps streams per session: one more closes the oldest, which is told to wait before reconnecting', () => {
    const { hub, sink } = setup({ maxPerSession: 2 });
    const [a, b, c] = [sink(), sink(), sink()];
    hub.add(claims('s1', 'u', 1000), a.s, 'token');
    hub.add(claims('s1', 'u', 1000), b.s, 'token');
    expect(a.isClosed()).toBe(false);
    hub.add(claims('s1', 'u', 1000), c.s, 'token');
    expect(a.isClosed()).toBe(true);
    expect(a.retry()).toBe(REPLACED_RETRY_MS);
    expect(a.sent).toEqual([]);
    expect([b.isClosed(), c.isClosed()]).toEqual([false, false]);
    expect(hub.size()).toBe(2);
  });

  it('caps streams per user across sessions; other users are untouched', () => {
    const { hub, sink } = setup({ maxPerSession: 5, maxPerUser: 3 });
    const mine = [sink(), sink(), sink()];
    const theirs = sink();
    hub.add(claims('s1', 'u', 1000), mine[0]!.s, 'token');
    hub.add(claims('x1', 'v', 1000), theirs.s, 'token');
    hub.add(claims('s2', 'u', 1000), mine[1]!.s, 'token');
    hub.add(claims('s3', 'u', 1000), mine[2]!.s, 'token');
    expect(mine.map((m) => m.isClosed())).toEqual([false, false, false]);
    const fourth = sink();
    hub.add(claims('s4', 'u', 1000), fourth.s, 'token');
    expect(mine.map((m) => m.isClosed())).toEqual([true, false, false]);
    expect(fourth.isClosed()).toBe(false);
    expect(theirs.isClosed()).toBe(false);
    expect(hub.size()).toBe(4);
  });

  it('a refused stream pushes nobody out; the defaults are 5 per session and 20 per user', () => {
    const { hub, sink, revoked } = setup({ maxPerSession: 1 });
    const live = sink();
    hub.add(claims('s1', 'u', 1000), live.s, 'token');
    revoked.add('revoked-token');
    hub.add(claims('s1', 'u', 1000), sink().s, 'revoked-token');
    expect(live.isClosed()).toBe(false);

    const d = setup();
    const opened = Array.from({ length: 6 }, () => sink());
    for (const o of opened) d.hub.add(claims('s', 'w', 1000), o.s, 'token');
    expect(opened.map((o) => o.isClosed())).toEqual([true, false, false, false, false, false]);
    const many = Array.from({ length: 21 }, () => sink());
    many.forEach((o, i) => {
      d.hub.add(claims(`t${i}`, 'z', 1000), o.s, 'token');
    });
    expect(many.filter((o) => o.isClosed())).toHaveLength(1);
    expect(many[0]?.isClosed()).toBe(true);
    expect(() => setup({ maxPerSession: 0 })).toThrow(RangeError);
    expect(() => setup({ maxPerUser: 1.5 })).toThrow(RangeError);
  });

  it('onChange counts every open and every close, however the stream ends', () => {
    let open = 0;
    const { hub, sink, emit, revoked } = setup({
      maxPerSession: 1,
      onChange: (d) => {
        open += d;
      },
    });
    const remove = hub.add(claims('s1', 'u', 1000), sink().s, 'token');
    expect(open).toBe(1);
    remove();
    remove();
    expect(open).toBe(0);
    hub.add(claims('s1', 'u', 1000), sink().s, 'token');
    hub.add(claims('s1', 'u', 1000), sink().s, 'token'); // replaces the first
    expect(open).toBe(1);
    revoked.add('bad');
    hub.add(claims('s2', 'u', 1000), sink().s, 'bad');
    expect(open).toBe(1);
    hub.add(claims('s3', 'u', 1000), sink().s, 'token');
    emit({ kind: 'session', sid: 's1', sub: 'u', at: 1, cause: 'logout' });
    expect(open).toBe(1);
    hub.close();
    expect(open).toBe(0);
    expect(hub.size()).toBe(0);
  });

  it('a removed stream gets nothing; close() ends the rest', () => {
    const { hub, sink, emit } = setup();
    const a = sink();
    const b = sink();
    const remove = hub.add(claims('s1', 'u', 1000), a.s, 'token');
    hub.add(claims('s2', 'u', 1000), b.s, 'token');
    remove();
    emit({ kind: 'session', sid: 's1', sub: 'u', at: 1, cause: 'logout' });
    expect(a.sent).toEqual([]);
    hub.close();
    expect(b.isClosed()).toBe(true);
  });
});

describe('static files', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nb-web-'));
    await writeFile(join(root, 'index.html'), '<!doctype html><title>x</title>');
    await writeFile(join(root, 'app.js'), 'export {};');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('3.4.x: serves the page with a strict CSP and content types; nothing outside the root', async () => {
    const page = await staticFile(root, '');
    expect(page?.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page?.headers['content-security-policy']).toMatch(
      /default-src 'self'.*frame-ancestors 'none'/,
    );
    expect((await staticFile(root, 'app.js'))?.headers['content-type']).toMatch(
      /^text\/javascript/,
    );
    for (const bad of ['../package.json', '..', '.env', 'x/../../etc.txt', 'missing.js', 'a.exe']) {
      expect(await staticFile(root, bad)).toBeNull();
    }
  });
});
