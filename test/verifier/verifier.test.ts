import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { isAuthError } from '../../src/errors.js';
import { memoryFeed } from '../../src/feeds/memory.js';
import type { FeedHandlers, RevocationFeed } from '../../src/feeds/port.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createSigner } from '../../src/tokens/sign.js';
import type { JwkSet } from '../../src/tokens/types.js';
import { createVerifier, type Verifier } from '../../src/verifier/index.js';

const issuer = 'https://auth.example';
const audience = 'api';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (isAuthError(error)) return error.reason ? `${error.code}:${error.reason}` : error.code;
    throw error;
  }
}

/** A feed whose confirmations the test controls: the verifier only reads `confirmedAt`. */
function controlledFeed(): RevocationFeed & {
  confirm(at: number): void;
  emit: FeedHandlers['event'];
} {
  const handlers = new Set<FeedHandlers>();
  let confirmed = 0;
  return {
    publish: async () => {},
    subscribe(h) {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    start: async () => {},
    confirmedAt: () => confirmed,
    close: async () => {},
    confirm(at) {
      confirmed = at;
    },
    emit(event) {
      for (const h of handlers) h.event(event);
    },
  };
}

describe('createVerifier', () => {
  const clock = manualClock(Date.UTC(2026, 5, 1));
  const keyring = Keyring.generate('EdDSA');
  const signer = createSigner({ keyring, issuer, audience, ttl: 900, clock });
  const sign = (sid = 'sid-1', sub = 'user-1') =>
    signer.sign({ sub, sid, roles: ['user'], authTime: clock.now() }).token;
  const opened: Verifier[] = [];
  const servers: Server[] = [];
  const open = (
    options: Partial<Parameters<typeof createVerifier>[0]> & { feed: RevocationFeed },
  ) => {
    const verifier = createVerifier({
      jwks: keyring.toPublicJwks(),
      issuer,
      audience,
      clock,
      ...options,
    });
    opened.push(verifier);
    return verifier;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((v) => v.close()));
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('verifies a token of the auth servers once ready, and fails closed before', async () => {
    const verifier = open({ feed: memoryFeed({ clock }) });
    const token = sign();
    expect(codeOf(() => verifier.verify(token))).toBe('REVOCATION_STATE_STALE');
    await verifier.ready();
    expect(verifier.verify(token).sub).toBe('user-1');
    const forged = `${token.split('.').slice(0, 2).join('.')}.${sign('sid-2').split('.')[2]}`;
    expect(codeOf(() => verifier.verify(forged))).toBe('TOKEN_SIGNATURE_INVALID');
  });

  it('applies revocations from the feed with the same rules as auth.verify', async () => {
    const feed = memoryFeed({ clock });
    const verifier = open({ feed });
    await verifier.ready();
    const a = sign('sid-a', 'user-a');
    const b = sign('sid-b', 'user-b');
    const c = sign('sid-c', 'user-c');
    await feed.publish({
      kind: 'session',
      sid: 'sid-a',
      sub: 'user-a',
      at: clock.now(),
      cause: 'logout',
    });
    await feed.publish({
      kind: 'user',
      sub: 'user-b',
      at: clock.now() + 1,
      scope: 'tokens',
      cause: 'roles',
    });
    expect(codeOf(() => verifier.verify(a))).toBe('TOKEN_REVOKED:session');
    expect(codeOf(() => verifier.verify(b))).toBe('TOKEN_REVOKED:claims');
    expect(verifier.verify(c).sub).toBe('user-c');
    await feed.publish({ kind: 'global', at: clock.now() + 1 });
    expect(codeOf(() => verifier.verify(c))).toBe('TOKEN_REVOKED:global');
  });

  it('fails closed once the feed has not confirmed it current within maxStaleness, unless failOpen', async () => {
    const feed = controlledFeed();
    const strict = open({ feed, maxStaleness: 5 });
    const lenient = open({ feed, maxStaleness: 5, failOpen: true });
    await Promise.all([strict.ready(), lenient.ready()]);
    const token = sign();
    feed.confirm(clock.now());
    expect(strict.verify(token).sid).toBe('sid-1');
    clock.advance(5001);
    expect(codeOf(() => strict.verify(token))).toBe('REVOCATION_STATE_STALE');
    expect(lenient.verify(token).sid).toBe('sid-1');
    // A revoked token stays revoked whatever failOpen says.
    feed.emit({ kind: 'session', sid: 'sid-1', sub: 'user-1', at: clock.now(), cause: 'logout' });
    expect(codeOf(() => lenient.verify(token))).toBe('TOKEN_REVOKED:session');
    feed.confirm(clock.now());
    expect(codeOf(() => strict.verify(token))).toBe('TOKEN_REVOKED:session');
  });

  it('fetches the JWKS from a URL, refetches on an unknown kid at most once per cooldown', async () => {
    let served: JwkSet = keyring.toPublicJwks();
    let fetches = 0;
    const server = createServer((_, response) => {
      fetches += 1;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(served));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    const verifier = open({ feed: memoryFeed({ clock }), jwks: url, jwksCooldown: 30 });
    await verifier.ready();
    expect(fetches).toBe(1);
    expect(verifier.verify(sign()).sub).toBe('user-1');

    // Within the cooldown of the first fetch an unknown kid fetches nothing.
    keyring.rotate('EdDSA', clock.now());
    served = keyring.toPublicJwks();
    expect(codeOf(() => verifier.verify(sign('sid-early')))).toBe('TOKEN_KEY_UNKNOWN');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fetches).toBe(1);
    clock.advance(31_000);

    // The auth servers rotate: tokens carry a kid this verifier has not seen yet.
    keyring.rotate('EdDSA', clock.now());
    served = keyring.toPublicJwks();
    const rotated = sign('sid-2');
    for (let i = 0; i < 50; i += 1) {
      const code = codeOf(() => verifier.verify(rotated));
      if (code === undefined) break;
      expect(code).toBe('TOKEN_KEY_UNKNOWN');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(verifier.verify(rotated).sid).toBe('sid-2');
    expect(fetches).toBe(2);

    // Garbage kids within the cooldown never cause another fetch.
    const other = Keyring.generate('EdDSA');
    const stranger = createSigner({ keyring: other, issuer, audience, ttl: 900, clock }).sign({
      sub: 'x',
      sid: 'y',
      roles: [],
      authTime: clock.now(),
    }).token;
    for (let i = 0; i < 100; i += 1)
      expect(codeOf(() => verifier.verify(stranger))).toBe('TOKEN_KEY_UNKNOWN');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fetches).toBe(2);
  });

  it('ready() rejects when the JWKS cannot be loaded in time, and verify keeps failing closed', async () => {
    const verifier = open({
      feed: memoryFeed({ clock }),
      jwks: 'http://127.0.0.1:1/.well-known/jwks.json',
      readyTimeout: 0.3,
    });
    await expect(verifier.ready()).rejects.toThrow();
    expect(codeOf(() => verifier.verify(sign()))).toBe('REVOCATION_STATE_STALE');
  });

  it('refuses a token that lives longer than the revocations it tracks', async () => {
    const verifier = open({ feed: memoryFeed({ clock }), maxTokenLifetime: 600 });
    await verifier.ready();
    expect(codeOf(() => verifier.verify(sign()))).toBe('TOKEN_CLAIM_INVALID');
    const short = createSigner({ keyring, issuer, audience, ttl: 600, clock });
    const token = short.sign({ sub: 'u', sid: 's', roles: [], authTime: clock.now() }).token;
    expect(verifier.verify(token).sub).toBe('u');
  });

  it('refuses a missing issuer at construction', () => {
    expect(() =>
      createVerifier({ jwks: keyring.toPublicJwks(), feed: memoryFeed(), issuer: '', audience }),
    ).toThrow(TypeError);
  });
});
