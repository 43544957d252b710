import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { memoryFeed } from '../../src/feeds/memory.js';
import type { RevocationFeed } from '../../src/feeds/port.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createVerifier, type Verifier, type VerifierOptions } from '../../src/verifier/index.js';

const issuer = 'https://auth.example';
const audience = 'api';
const keyring = Keyring.generate('EdDSA');
const jwks = keyring.toPublicJwks();

/** A feed whose start and certificate the test decides. */
function feedWith(parts: Partial<RevocationFeed>): RevocationFeed {
  return {
    publish: async () => {},
    subscribe: () => () => {},
    start: async () => {},
    confirmedAt: () => Date.now(),
    close: async () => {},
    ...parts,
  };
}

describe('createVerifier says why it cannot get ready, as soon as it knows', () => {
  const clock = manualClock(Date.UTC(2026, 5, 1));
  const opened: Verifier[] = [];
  const servers: Server[] = [];
  const open = (options: Partial<VerifierOptions>): Verifier => {
    const verifier = createVerifier({
      jwks,
      feed: memoryFeed({ clock }),
      issuer,
      audience,
      clock,
      ...options,
    } as VerifierOptions);
    opened.push(verifier);
    return verifier;
  };
  /** A JWKS server on loopback; `hits` counts its requests. */
  const serve = async (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
    const state = { hits: 0, url: '' };
    const server = createServer((req, res) => {
      state.hits += 1;
      handler(req, res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    return state;
  };
  /** How long the promise took to settle and its rejection's message. */
  const rejection = async (promise: Promise<unknown>) => {
    const started = Date.now();
    try {
      await promise;
    } catch (error) {
      return { ms: Date.now() - started, message: (error as Error).message };
    }
    throw new Error('resolved');
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((v) => v.close()));
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses a missing audience, or a misspelt option, at construction', () => {
    const base = { jwks, feed: memoryFeed(), issuer };
    for (const bad of [undefined, '', [], [''], 42]) {
      expect(() =>
        createVerifier({ ...base, audience: bad } as unknown as VerifierOptions),
      ).toThrow(
        /^createVerifier: audience is required: this service's name as the auth servers write it in aud/,
      );
    }
    expect(() =>
      createVerifier({ ...base, audiance: 'api' } as unknown as VerifierOptions),
    ).toThrow('createVerifier: unknown option audiance (did you mean audience?)');
    expect(() =>
      createVerifier({ ...base, audience, maxStaleness: '5' } as unknown as VerifierOptions),
    ).toThrow(/^createVerifier: maxStaleness must be a number of seconds >= 0; got a string$/);
    expect(() =>
      createVerifier({
        ...base,
        audience,
        feed: 'redis://127.0.0.1',
      } as unknown as VerifierOptions),
    ).toThrow(/^createVerifier: feed must be a RevocationFeed .*; got a string$/);
    expect(() => createVerifier({ ...base, audience, jwks: { keys: [{ kty: 'nope' }] } })).toThrow(
      /^createVerifier: jwks has no usable public key/,
    );
  });

  it('a JWKS URL that refuses connections rejects ready() with that cause, after a few quick tries', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const probe = await serve(() => {});
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const failures: unknown[] = [];
    const verifier = open({ jwks: probe.url, readyTimeout: 10, onError: (e) => failures.push(e) });
    const { ms, message } = await rejection(verifier.ready());
    expect(message).toMatch(
      /^createVerifier: cannot load the JWKS from http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    );
    expect(ms).toBeLessThan(4000); // not the 10 s timeout
    expect(failures.length).toBeGreaterThan(1); // it did try again
  });

  it('a JWKS URL answering 404 rejects at once, without retrying', async () => {
    const jwksServer = await serve((_, res) => {
      res.writeHead(404).end('no');
    });
    const { ms, message } = await rejection(open({ jwks: jwksServer.url }).ready());
    expect(message).toBe(
      `createVerifier: cannot load the JWKS from ${jwksServer.url}: HTTP 404 Not Found`,
    );
    expect(ms).toBeLessThan(1000);
    expect(jwksServer.hits).toBe(1);
  });

  it('a JWKS URL answering something that is not JSON rejects at once, naming what it got', async () => {
    const jwksServer = await serve((_, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
    });
    const { ms, message } = await rejection(open({ jwks: jwksServer.url }).ready());
    expect(message).toBe(
      `createVerifier: cannot load the JWKS from ${jwksServer.url}: the answer is not JSON (text/html)`,
    );
    expect(ms).toBeLessThan(1000);
    expect(jwksServer.hits).toBe(1);
  });

  it('a JWKS URL answering JSON with no usable key rejects at once', async () => {
    const jwksServer = await serve((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[{"kty":"nope"}]}');
    });
    const { message } = await rejection(open({ jwks: jwksServer.url }).ready());
    expect(message).toMatch(/: no usable key in it \(/);
    expect(jwksServer.hits).toBe(1);
  });

  it('a passing 503 is retried: ready() resolves once the JWKS answers', async () => {
    const jwksServer = await serve((_, res) => {
      if (jwksServer.hits < 3) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await open({ jwks: jwksServer.url }).ready();
    expect(jwksServer.hits).toBe(3);
  });

  it('a rejected ready() may be called again, and succeeds once the cause is gone', async () => {
    let up = false;
    const jwksServer = await serve((_, res) => {
      if (!up) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    const verifier = open({ jwks: jwksServer.url });
    await expect(verifier.ready()).rejects.toThrow(/HTTP 404/);
    up = true;
    await verifier.ready();
  });

  it('a feed whose start fails rejects ready() at once with its cause', async () => {
    const feed = feedWith({
      start: () => Promise.reject(new Error('NOAUTH Authentication required')),
    });
    const { ms, message } = await rejection(open({ feed, readyTimeout: 10 }).ready());
    expect(message).toBe(
      'createVerifier: the revocation feed did not start: NOAUTH Authentication required',
    );
    expect(ms).toBeLessThan(1000);
  });

  it('at the timeout, a feed that never confirmed is named (and not the keys, which loaded)', async () => {
    const feed = feedWith({ start: () => new Promise(() => {}) });
    const { message } = await rejection(open({ feed, readyTimeout: 0.3 }).ready());
    expect(message).toMatch(
      /^createVerifier: not ready after 0\.3 s: the revocation feed has not confirmed that it is current/,
    );
    expect(message).not.toMatch(/JWKS/);
  });

  it('at the timeout, a feed no auth instance has certified says so', async () => {
    const feed = feedWith({ certifiedAt: () => 0 });
    const { message } = await rejection(open({ feed, readyTimeout: 0.3 }).ready());
    expect(message).toMatch(
      /^createVerifier: not ready after 0\.3 s: no auth instance has certified the feed/,
    );
  });

  it('at the timeout, a feed whose certificate is too old says how old', async () => {
    const feed = feedWith({ certifiedAt: () => clock.now() - 60_000 });
    const { message } = await rejection(open({ feed, readyTimeout: 0.3, maxStaleness: 5 }).ready());
    expect(message).toMatch(
      /the feed's latest certificate is 60 s old, older than maxStaleness \(5 s\)/,
    );
  });

  it('at the timeout, a JWKS URL that never answers and a stuck feed are both named', async () => {
    const silent = await serve(() => {}); // accepts, never answers
    const feed = feedWith({ start: () => new Promise(() => {}) });
    const { ms, message } = await rejection(
      open({ jwks: silent.url, feed, readyTimeout: 0.5 }).ready(),
    );
    expect(message).toContain(`the JWKS from ${silent.url} has not answered`);
    expect(message).toContain('the revocation feed has not confirmed that it is current');
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(2000);
  });
});
