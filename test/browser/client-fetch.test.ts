/**
 * `client.fetch` echoes the CSRF cookie in X-CSRF-Token on unsafe requests, and only to
 * the page's own origin or the configured auth server: sent anywhere else, the token
 * would leak, and with it the CSRF defence. Runs in Node with the page's globals faked
 * (document.cookie, location, fetch); the client reads nothing else for this.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuthClient } from '../../src/client/client.js';
import type { AuthClient } from '../../src/client/types.js';

const CSRF = 'AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';

describe('client.fetch and the CSRF header', () => {
  let sent: { url: string; headers: Headers }[];
  const clients: AuthClient[] = [];

  beforeEach(() => {
    sent = [];
    vi.stubGlobal('document', { cookie: `theme=dark; __Host-nb_csrf=${CSRF}` });
    vi.stubGlobal('location', new URL('https://app.example/settings/page'));
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      sent.push({ url, headers: new Headers(init.headers) });
      return new Response('{}', { status: 200 });
    });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    vi.unstubAllGlobals();
  });

  const client = (baseUrl?: string) => {
    const c = createAuthClient(
      baseUrl === undefined
        ? { events: false, channel: `t${Math.random()}` }
        : { events: false, channel: `t${Math.random()}`, baseUrl },
    );
    clients.push(c);
    return c;
  };
  const csrfFor = async (c: AuthClient, url: string, method = 'POST') => {
    await c.fetch(url, { method });
    return sent.at(-1)?.headers.get('x-csrf-token') ?? null;
  };

  it('3.5.1: sends the token to its own origin only', async () => {
    const c = client();
    expect(await csrfFor(c, '/api/items')).toBe(CSRF);
    expect(await csrfFor(c, 'api/items', 'DELETE')).toBe(CSRF);
    expect(await csrfFor(c, 'https://app.example/api/items', 'PUT')).toBe(CSRF);
    expect(await csrfFor(c, new URL('https://app.example/x').href, 'PATCH')).toBe(CSRF);
    for (const foreign of [
      'https://evil.example/collect',
      '//evil.example/collect',
      'http://app.example/api/items', // another scheme is another origin
      'https://app.example:8443/api/items',
      'https://sub.app.example/api/items',
    ]) {
      expect(await csrfFor(c, foreign), foreign).toBeNull();
    }
    expect(await csrfFor(c, '/api/items', 'GET')).toBeNull(); // safe methods never need it
    expect(sent).toHaveLength(10);
  });

  it('3.5.1: and to the auth server named by baseUrl, not to a third origin', async () => {
    const c = client('https://auth.example/');
    expect(await csrfFor(c, 'https://auth.example/app/thing')).toBe(CSRF);
    expect(await csrfFor(c, '/api/items')).toBe(CSRF);
    expect(await csrfFor(c, 'https://evil.example/collect')).toBeNull();
  });

  it("keeps a caller's own X-CSRF-Token", async () => {
    const c = client();
    await c.fetch('https://evil.example/x', {
      method: 'POST',
      headers: { 'x-csrf-token': 'mine' },
    });
    expect(sent.at(-1)?.headers.get('x-csrf-token')).toBe('mine');
  });
});
