import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../cluster/redis-server.js';
import { type ProcessName, SERVES, type ServeName } from './history.js';
import { type ExitRecord, ManagedProcess } from './processes.js';
import { Proxies } from './proxies.js';
import { TortureRedis } from './redis.js';

export interface ClusterConfig {
  runDir: string;
  maxStaleness: number;
  accessTokenTtl: number;
  adminEmail: string;
  /** A PostgreSQL URL on 127.0.0.1 with the right to create databases. */
  pgAdminUrl: string;
  log: (line: string) => void;
  /** The run's clock (ms). */
  now: () => number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * The system under test: three `notbefore serve` on one PostgreSQL database of the run's
 * own and one redis-server of the run's own, and a verify-only process; every connection
 * of theirs to PostgreSQL or Redis passes through a link proxy of the harness, one per
 * process and service. Serve instances have fixed ports so a restarted one is reachable
 * at the same address.
 */
export class Cluster {
  readonly serves = new Map<ServeName, ManagedProcess>();
  verifier: ManagedProcess | undefined;
  redis: TortureRedis | undefined;
  proxies: Proxies | undefined;
  readonly ports = new Map<ServeName, number>();
  readonly database = `notbefore_torture_${process.pid}_${randomBytes(3).toString('hex')}`;
  private databaseCreated = false;

  constructor(readonly config: ClusterConfig) {
    const url = new URL(config.pgAdminUrl);
    if (!LOOPBACK.has(url.hostname))
      throw new Error(`the torture run talks to 127.0.0.1 only (got ${url.hostname})`);
  }

  url(process: ProcessName): string {
    if (process === 'verifier') return this.verifier?.url ?? 'http://127.0.0.1:1';
    return `http://127.0.0.1:${this.ports.get(process)}`;
  }

  serve(name: ServeName): ManagedProcess {
    const serve = this.serves.get(name);
    if (serve === undefined) throw new Error(`no ${name}`);
    return serve;
  }

  /** Starts everything; on failure, stops what was started and rethrows. */
  async start(): Promise<void> {
    try {
      await this.boot();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  private async boot(): Promise<void> {
    const { config } = this;
    const admin = new pg.Client({
      connectionString: config.pgAdminUrl,
      connectionTimeoutMillis: 5000,
    });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${this.database}`);
      this.databaseCreated = true;
    } finally {
      await admin.end();
    }
    this.redis = await TortureRedis.start(join(config.runDir, 'redis'));
    const pgTarget = new URL(config.pgAdminUrl);
    const links = [
      ...SERVES.flatMap((name) => [
        { name: `${name}:pg`, host: '127.0.0.1', port: Number(pgTarget.port || 5432) },
        { name: `${name}:redis`, host: '127.0.0.1', port: this.redis!.port },
      ]),
      { name: 'verifier:redis', host: '127.0.0.1', port: this.redis.port },
    ];
    this.proxies = await Proxies.start(links);
    for (const name of SERVES) {
      this.ports.set(name, await freePort());
      const db = new URL(config.pgAdminUrl);
      db.hostname = '127.0.0.1';
      db.port = String(this.proxies.port(`${name}:pg`));
      db.pathname = `/${this.database}`;
      const args = [
        'serve',
        '--port',
        String(this.ports.get(name)),
        '--host',
        '127.0.0.1',
        '--db',
        db.toString(),
        '--redis',
        `redis://127.0.0.1:${this.proxies.port(`${name}:redis`)}`,
        '--max-staleness',
        String(config.maxStaleness),
        '--access-token-ttl',
        String(config.accessTokenTtl),
        '--rate-limit',
        '0',
        // Each simulated client has an address of its own in X-Forwarded-For, so the
        // per-client failure count does not lump every client of the run together.
        '--trust-proxy',
        // One instance invites the admin: each start of one with --admin-email invites
        // anew while the account does not exist, which would supersede the link read from
        // serve0's log (see adminInvitation). Once the admin exists, restarts leave it be.
        ...(name === 'serve0' ? ['--admin-email', config.adminEmail] : []),
        '--log-level',
        'warn',
      ];
      this.serves.set(
        name,
        new ManagedProcess(
          name,
          'src/cli/main.ts',
          args,
          join(config.runDir, `${name}.log`),
          {},
          config.now,
        ),
      );
    }
    // The first start creates the schema and the keys; the others find them.
    await this.serve('serve0').start();
    await Promise.all([this.serve('serve1').start(), this.serve('serve2').start()]);
    this.verifier = new ManagedProcess(
      'verifier',
      'test/cluster/verifier-server.ts',
      [],
      join(config.runDir, 'verifier.log'),
      {
        JWKS_URL: `${this.url('serve0')}/.well-known/jwks.json`,
        REDIS_URL: `redis://127.0.0.1:${this.proxies.port('verifier:redis')}`,
        ISSUER: 'notbefore',
        AUDIENCE: 'notbefore',
        MAX_STALENESS: String(config.maxStaleness),
      },
      config.now,
    );
    await this.verifier.start();
  }

  /**
   * The invitation token `--admin-email` made serve0 log (at warn, after it listens): the
   * admin's account comes from accepting it, as a deployment's first admin does.
   */
  async adminInvitation(timeoutMs = 20_000): Promise<string> {
    const serve = this.serve('serve0');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const links = [...serve.tail(16_000).matchAll(/"link":"[^"]*#invitation=([\w-]+)"/g)];
      const token = links.at(-1)?.[1];
      if (token !== undefined) return token;
      if (Date.now() > deadline || !serve.running)
        throw new Error(`serve0 logged no admin invitation:\n${serve.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Every exit the harness did not cause. */
  unexpectedExits(): ExitRecord[] {
    return [...this.serves.values(), ...(this.verifier ? [this.verifier] : [])]
      .flatMap((p) => p.unexpectedExits)
      .sort((a, b) => a.at - b.at);
  }

  /** Every child process id still running (for a last-resort synchronous kill). */
  pids(): number[] {
    const pids = [
      ...[...this.serves.values()].flatMap((p) => [...p.pids]),
      ...(this.verifier ? [...this.verifier.pids] : []),
      ...(this.redis ? [...this.redis.pids] : []),
    ];
    if (this.proxies?.pid !== undefined) pids.push(this.proxies.pid);
    return pids;
  }

  /** Kills every process, drops the database. Safe to call twice, and after a failed start. */
  async close(): Promise<void> {
    const all = [...this.serves.values(), ...(this.verifier ? [this.verifier] : [])];
    await Promise.all(all.map((p) => p.kill().catch(() => {})));
    await Promise.all(all.map((p) => p.closeLog()));
    await this.proxies?.close().catch(() => {});
    await this.redis?.kill().catch(() => {});
    if (this.databaseCreated) {
      const admin = new pg.Client({
        connectionString: this.config.pgAdminUrl,
        connectionTimeoutMillis: 5000,
      });
      try {
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
        this.databaseCreated = false;
      } catch (error) {
        this.config.log(`could not drop database ${this.database}: ${String(error)}`);
      } finally {
        await admin.end().catch(() => {});
      }
    }
  }
}
