import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Running {
  url: string;
  process: ChildProcess;
  /** SIGKILL: a crash, nothing flushed. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  output(): string;
}

/**
 * The URL a starting server prints (`listening on http://…`), read from `output` as its
 * stdout grows; rejects when `child` exits or `timeoutMs` passes first (it kills nothing).
 */
export function listeningUrl(
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
  name: string,
  tail: () => string,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${name} did not start in ${timeoutMs} ms:\n${tail()}`));
    }, timeoutMs);
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output());
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1].replace(/\/$/, ''));
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} while starting:\n${tail()}`));
    });
  });
}

/** Runs a TypeScript entry point of this repository under tsx, until it prints its URL. */
export async function runScript(
  entry: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let url: string;
  try {
    url = await listeningUrl(
      child,
      () => out,
      timeoutMs,
      entry,
      () => out.slice(-2000),
    );
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    process: child,
    output: () => out,
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function serve(args: string[]): Promise<Running> {
  return runScript('src/cli/main.ts', ['serve', '--port', '0', '--log-level', 'warn', ...args]);
}

export interface SignedIn {
  accessToken: string;
  refreshToken: string;
  session: { sid: string };
}

const BEARER = { 'content-type': 'application/json', 'x-auth-transport': 'bearer' };

export async function post(
  base: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: token === undefined ? BEARER : { ...BEARER, authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

export async function signIn(
  base: string,
  path: '/auth/signup' | '/auth/login',
  email: string,
  password: string,
) {
  const response = await post(base, path, { email, password });
  if (!response.ok)
    throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as SignedIn;
}

/** GET /auth/me with the token: 'ok', or the error code of the answer. */
export async function me(base: string, token: string, path = '/auth/me'): Promise<string> {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
  if (response.ok) return 'ok';
  return body.error?.code ?? `HTTP ${response.status}`;
}
