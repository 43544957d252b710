import { expect } from 'vitest';
import { type ManualClock, manualClock } from '../../src/clock.js';
import type { HttpOptions } from '../../src/http/core.js';
import { createAuth } from '../../src/sessions/auth.js';
import type { Auth, AuthOptions } from '../../src/sessions/types.js';
import type { Store } from '../../src/stores/port.js';
import { sqliteStore } from '../../src/stores/sqlite.js';

export type ServerOptions = Omit<HttpOptions, 'auth'>;

export interface TestResponse {
  status: number;
  headers: Headers;
  body: string;
  cookies: string[];
  // biome-ignore lint/suspicious/noExplicitAny: test convenience for reading answers
  json(): any;
}

export interface RequestInit {
  headers?: Record<string, string>;
  body?: string;
}

/** One adapter under test, however it is driven (inject, app.request, a socket). */
export interface TestServer {
  /** The origin the server believes it has (for same-origin Origin headers). */
  origin: string;
  request(method: string, path: string, init?: RequestInit): Promise<TestResponse>;
  /** A real streaming response (event streams); GET unless `method` says HEAD. */
  stream(
    path: string,
    headers?: Record<string, string>,
    method?: 'GET' | 'HEAD',
  ): Promise<Response>;
  close(): Promise<void>;
}

export type MakeServer = (auth: Auth, options: ServerOptions) => Promise<TestServer>;

export async function fromResponse(res: Response): Promise<TestResponse> {
  const body = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body,
    cookies: res.headers.getSetCookie(),
    json: () => JSON.parse(body),
  };
}

export const PASSWORD = 'correct horse battery staple';
export const ADMIN = 'admin@example.com';

export type MakeStore = () => Store;

/** A real auth (in-memory SQLite unless a store is given), cheap argon2, a manual clock. */
export async function makeAuth(
  extra: AuthOptions = {},
  makeStore: MakeStore = () => sqliteStore(':memory:'),
): Promise<{ auth: Auth; clock: ManualClock; close(): Promise<void> }> {
  const clock = manualClock(Date.now());
  const store = makeStore();
  const auth = createAuth({
    store,
    clock,
    password: { memoryCost: 1024, timeCost: 1, parallelism: 1, allowWeakHash: true },
    ...extra,
  });
  await auth.ready();
  return {
    auth,
    clock,
    async close() {
      await auth.close();
      await store.close();
    },
  };
}

/** Cookies as a browser keeps them (paths ignored: every auth route is under /auth). */
export class Jar {
  readonly values = new Map<string, string>();

  take(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = (pair ?? '').indexOf('=');
      const name = (pair ?? '').slice(0, eq).trim();
      const value = (pair ?? '').slice(eq + 1).trim();
      const dead = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (dead || value === '') this.values.delete(name);
      else this.values.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  header(): string {
    return [...this.values].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** What {@link api} and {@link browser} have in common: a request, answered. */
export interface Client {
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<TestResponse>;
}

/** Sends `body` (when there is one) as JSON, with the headers `h`. */
function sendJson(
  server: TestServer,
  method: string,
  path: string,
  body: unknown,
  h: Record<string, string>,
): Promise<TestResponse> {
  if (body !== undefined) h['content-type'] = 'application/json';
  const init: RequestInit = { headers: h };
  if (body !== undefined) init.body = JSON.stringify(body);
  return server.request(method, path, init);
}

/** A browser: keeps cookies, echoes the CSRF cookie on unsafe requests, sends JSON. */
export function browser(server: TestServer, jar = new Jar()) {
  const call: Client['call'] = async (method, path, body, headers = {}) => {
    const h: Record<string, string> = { ...headers };
    if (jar.values.size > 0) h.cookie = jar.header();
    const csrf = jar.get('__Host-nb_csrf');
    if (method !== 'GET' && csrf !== undefined && h['x-csrf-token'] === undefined)
      h['x-csrf-token'] = csrf;
    const res = await sendJson(server, method, path, body, h);
    jar.take(res.cookies);
    return res;
  };
  return { jar, call };
}

/** An API client: bearer transport, tokens in the body. */
export function api(server: TestServer) {
  let access: string | undefined;
  let refresh: string | undefined;
  const call: Client['call'] = async (method, path, body, headers = {}) => {
    const h: Record<string, string> = { 'x-auth-transport': 'bearer', ...headers };
    if (access !== undefined && h.authorization === undefined) h.authorization = `Bearer ${access}`;
    const res = await sendJson(server, method, path, body, h);
    if (res.status < 300 && res.body.startsWith('{')) {
      const json = res.json();
      if (typeof json.accessToken === 'string') {
        access = json.accessToken;
        refresh = json.refreshToken;
      }
    }
    return res;
  };
  return {
    call,
    get access() {
      return access;
    },
    get refresh() {
      return refresh;
    },
  };
}

/** Signs `email` up with {@link PASSWORD} on `client` (201 or the test fails): it is signed in. */
export async function signUp<C extends Client>(client: C, email: string): Promise<C> {
  const res = await client.call('POST', '/auth/signup', { email, password: PASSWORD });
  expect(res.status).toBe(201);
  return client;
}

/** Signs `email` in with {@link PASSWORD} on `client` (200 or the test fails). */
export async function logIn<C extends Client>(client: C, email: string): Promise<C> {
  const res = await client.call('POST', '/auth/login', { email, password: PASSWORD });
  expect(res.status).toBe(200);
  return client;
}

/** Reads an event stream until the server closes it (or the timeout aborts). */
export async function readStream(res: Response, timeoutMs = 5000): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const decoder = new TextDecoder();
  let text = '';
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // cancelled by the timeout
  } finally {
    clearTimeout(timer);
  }
  return text;
}
