import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listening, ROOT, run, waitForOutput } from './process.js';

describe('notbefore CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'notbefore-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serve: the --admin-email invitation, login, me over HTTP with the generated keys; logs hold no secret; SIGTERM exits 0', async () => {
    const keys = run(['keys', 'generate', '--alg', 'EdDSA']);
    expect(await keys.exited).toBe(0);
    const jwks = JSON.parse(keys.out());
    expect(jwks.keys[0].d).toEqual(expect.any(String));
    await writeFile(join(dir, 'keys.json'), keys.out());

    const server = run([
      'serve',
      '--port',
      '0',
      '--db',
      `sqlite:${join(dir, 'nb.db')}`,
      '--keys',
      join(dir, 'keys.json'),
      '--admin-email',
      'boss@example.com',
    ]);
    try {
      const url = await listening(server);
      const password = 'correct horse battery staple';
      const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
        fetch(url + path, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-auth-transport': 'bearer', ...headers },
          body: JSON.stringify(body),
        });
      // --admin-email invites: the link is in the log, and whoever opens it sets the password.
      const link = await waitForOutput(server, /"link":"(http:[^"]+#invitation=[\w-]+)"/);
      expect(link.startsWith(`${url}/#invitation=`)).toBe(true);
      const token = link.split('#invitation=')[1];
      const accept = await post('/auth/invitations/accept', { token, password });
      expect(accept.status).toBe(201);
      const login = await post('/auth/login', { email: 'boss@example.com', password });
      expect(login.status).toBe(200);
      const tokens = await login.json();
      const me = await fetch(`${url}/auth/me`, {
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      expect(me.status).toBe(200);
      expect((await me.json()).claims.roles).toEqual(['admin']);
      const served = await (await fetch(`${url}/.well-known/jwks.json`)).json();
      expect(served.keys[0].kid).toBe(jwks.keys[0].kid);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const cookie = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'boss@example.com', password }),
      });
      const cookies = cookie.headers.getSetCookie();

      // An open event stream must not hold the shutdown up.
      const events = await fetch(`${url}/auth/events`, {
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      expect(events.status).toBe(200);
      const streamEnded = events.text();
      server.child.kill('SIGTERM');
      await streamEnded;
      expect(await server.exited).toBe(0);
      const logs = server.out();
      expect(logs).toContain('"statusCode":200');
      expect(logs).toContain('admin invitation');
      for (const secret of [
        password,
        tokens.accessToken,
        tokens.refreshToken,
        ...cookies.map((c) => c.split(';')[0]?.split('=')[1] ?? ''),
      ]) {
        expect(logs).not.toContain(secret);
      }
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 120_000);

  it('a bad flag exits 2 with one line: the mistake, then where the usage is', async () => {
    const r = run(['serve', '--port', 'eighty']);
    expect(await r.exited).toBe(2);
    expect(r.out()).toBe(
      'notbefore: --port must be a whole number from 0 to 65535 (got "eighty"); see notbefore help serve\n',
    );
    const unknown = run(['serve', '--no-such-flag']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.out()).toBe(
      "notbefore: Unknown option '--no-such-flag'; see notbefore help serve\n",
    );
    const command = run(['serv']);
    expect(await command.exited).toBe(2);
    expect(command.out()).toBe('notbefore: unknown command "serv"; see notbefore help\n');
    const keys = run(['keys', 'generate', '--alg']);
    expect(await keys.exited).toBe(2);
    expect(keys.out()).toMatch(
      /^notbefore: Option '--alg <value>' argument missing; see notbefore help keys\n$/,
    );
  }, 60_000);

  it('--version and -v print the package version; help pages exist for each hint', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-v']) {
      const r = run([flag]);
      expect(await r.exited).toBe(0);
      expect(r.out()).toBe(`${version}\n`);
    }
    const serve = run(['help', 'serve']);
    expect(await serve.exited).toBe(0);
    expect(serve.out()).toMatch(/^Usage: notbefore serve/);
    const users = run(['help', 'users']);
    expect(await users.exited).toBe(0);
    expect(users.out()).toMatch(/^Usage: notbefore users invite EMAIL/);
    expect(serve.out()).toContain('--smtp URL');
    expect(serve.out()).toContain('--require-verified-email');
    const keys = run(['help', 'keys']);
    expect(await keys.exited).toBe(0);
    expect(keys.out()).toMatch(/^Usage: notbefore keys generate/);
    const top = run(['help']);
    expect(await top.exited).toBe(0);
    expect(top.out()).toContain('--version');
    expect(top.out()).toContain('users invite EMAIL');
    expect(top.out()).not.toContain('bench [');
  }, 60_000);

  it('bench is no longer a command of the package: it points at the checkout', async () => {
    const r = run(['bench', '--quick']);
    expect(await r.exited).toBe(2);
    expect(r.out()).toMatch(/^notbefore: .*`npm run bench` in a checkout; see notbefore help\n$/);
  }, 60_000);

  it('an unreachable database exits 1 with one line', async () => {
    const r = run(['serve', '--port', '0', '--db', 'postgres://nobody:secret@127.0.0.1:1/none']);
    expect(await r.exited).toBe(1);
    expect(r.out()).toMatch(/^notbefore: cannot open the database/);
    expect(r.out()).not.toContain('secret');
  }, 60_000);

  it('a port in use exits 1 with one line', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = run(['serve', '--port', String(port), '--db', 'sqlite::memory:']);
      expect(await r.exited).toBe(1);
      expect(r.out()).toContain(`port ${port} is already in use`);
    } finally {
      blocker.close();
    }
  }, 60_000);
});
