import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { connection, connectionFailure } from '../../src/stores/pg/connection.js';
import { postgresStore } from '../../src/stores/postgres.js';

const testUrl = process.env.NOTBEFORE_TEST_PG_URL;
if (testUrl === undefined)
  throw new Error('NOTBEFORE_TEST_PG_URL is not set (test/global-setup.ts)');
const url: string = testUrl;
const server = new URL(url);
const where = `${server.hostname}:${server.port || '5432'}`;
const ROOT = new URL('../../', import.meta.url).pathname;

const withPath = (path: string, user?: string, password?: string): string => {
  const next = new URL(url);
  next.pathname = `/${path}`;
  if (user !== undefined) next.username = user;
  if (password !== undefined) next.password = password;
  return next.toString();
};

async function initError(target: string, connectionTimeoutMillis = 2000): Promise<Error> {
  const store = postgresStore(target, { connectionTimeoutMillis });
  try {
    await store.init();
  } catch (error) {
    return error as Error;
  } finally {
    await store.close();
  }
  throw new Error('init() succeeded');
}

async function listen(onSocket: (socket: Socket) => void): Promise<Server & { port: number }> {
  const srv = createServer(onSocket);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  return Object.assign(srv, { port });
}

describe('postgresStore: connection failures say which', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('a missing database (3D000) names it, the server, and the createdb to run', async () => {
    const name = `nb_missing_${randomBytes(4).toString('hex')}`;
    const error = await initError(withPath(name));
    expect(error.message).toBe(
      `postgresStore: database "${name}" does not exist on ${where} — create it with createdb ${name}`,
    );
    expect((error.cause as { code?: string }).code).toBe('3D000');
    // Not the message of an unreachable server: that one sent the user looking for a down server.
    expect(error.message).not.toMatch(/cannot (connect|reach)/);
  });

  it('a refused connection is "cannot reach", quickly', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const probe = await listen(() => {});
    const port = probe.port;
    await new Promise((resolve) => probe.close(resolve));
    const started = Date.now();
    const error = await initError(`postgres://postgres@127.0.0.1:${port}/x`, 5000);
    expect(error.message).toMatch(
      new RegExp(
        `^postgresStore: cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED`,
      ),
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a server that accepts and never answers is "cannot reach" within connectionTimeoutMillis', async () => {
    const silent = await listen((socket) => sockets.push(socket));
    servers.push(silent);
    const started = Date.now();
    const error = await initError(`postgres://postgres@127.0.0.1:${silent.port}/x`, 300);
    expect(error.message).toMatch(
      new RegExp(`^postgresStore: cannot reach PostgreSQL at 127\\.0\\.0\\.1:${silent.port} \\(`),
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a refused login (28000 from the real server: unknown role) names the user, never the password', async () => {
    const role = `nb_no_role_${randomBytes(4).toString('hex')}`;
    const error = await initError(withPath(server.pathname.slice(1), role, 'pa55-s3cret'));
    expect(error.message).toMatch(
      new RegExp(`^postgresStore: authentication failed for user ${role} at ${where} \\(`),
    );
    expect((error.cause as { code?: string }).code).toBe('28000');
    expect(error.message).not.toContain('pa55-s3cret');
  });

  // The test server trusts every local connection, so it never asks for a password and a
  // wrong one cannot be provoked without changing its configuration: the mapping of the
  // server's 28P01 is checked on its own, with the fields pg gives that error.
  it('a wrong password (28P01) is an authentication failure too', () => {
    const serverError = Object.assign(new Error('password authentication failed for user "ann"'), {
      code: '28P01',
      severity: 'FATAL',
    });
    const error = connectionFailure(serverError, {
      where: 'db.example:5432',
      user: 'ann',
      database: 'app',
    });
    expect(error?.message).toBe(
      'postgresStore: authentication failed for user ann at db.example:5432 (password authentication failed for user "ann")',
    );
    expect(error?.cause).toBe(serverError);
  });

  /**
   * Runs `after` inside a transaction whose backend the server has just terminated
   * (pg_terminate_backend), and expects STORE_UNAVAILABLE; the pool then serves the next
   * caller with a fresh connection.
   */
  async function cutMidTransaction(
    after: (c: { query(sql: string): Promise<unknown> }) => Promise<unknown>,
  ) {
    const conn = connection(url, { schema: `t_${randomBytes(6).toString('hex')}` });
    const admin = connection(url, { schema: `a_${randomBytes(6).toString('hex')}` });
    try {
      const failed = conn.tx(async (c) => {
        const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        await after(c);
      });
      await expect(failed).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(await conn.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await conn.close();
      await admin.close();
    }
  }

  it('a connection the server ended (57P01, pg_terminate_backend) is a 503 to retry, not a 500', () =>
    cutMidTransaction((c) => c.query('SELECT 1')));

  it('a query on a client whose connection already failed ("not queryable") is a 503 too', () =>
    // The first query after the cut sees the server's 57P01; a caller that goes on (a
    // retry, a second statement) then gets pg's own "is not queryable" error.
    cutMidTransaction(async (c) => {
      await c.query('SELECT 1').catch(() => undefined);
      await c.query('SELECT 2');
    }));

  it('an error that is not about connecting passes through unchanged', async () => {
    const conn = connection(url, { schema: `e_${randomBytes(6).toString('hex')}` });
    try {
      await expect(conn.query('SELECT no_such_column FROM pg_class')).rejects.toMatchObject({
        code: '42703',
        message: expect.stringMatching(/^column "no_such_column" does not exist/),
      });
    } finally {
      await conn.close();
    }
  });

  it('notbefore serve --db postgres://…/missing prints one line naming the database and exits 1', async () => {
    const name = `nb_missing_${randomBytes(4).toString('hex')}`;
    const dbUrl = `postgres://${where}/${name}`;
    // The user comes from PGUSER, as for a user who relies on it instead of the URL.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve', '--db', dbUrl, '--port', '0'],
      {
        cwd: ROOT,
        env: { ...process.env, PGUSER: server.username || 'postgres' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `database "${name}" does not exist on ${where} — create it with createdb ${name}`,
    );
  }, 30_000);
});
