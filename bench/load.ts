// `npm run bench:load [-- --seconds 60 --workers 32]`: a mixed workload against two
// `notbefore serve` processes sharing a fresh PostgreSQL database and a Redis of the run's
// own, both dropped afterwards. Writes bench/results/load.{md,json,svg} (a shorter run:
// load-short.*, so it never replaces the committed 60-second results). Exits 1 on any
// answer other than the expected ones.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type Running, serve } from '../test/cluster/processes.js';
import { hasRedisServer, TestRedis } from '../test/cluster/redis-server.js';
import { LoadClient } from './load-client.js';
import { type LoadResults, renderLoadMarkdown, renderLoadSvg, summarise } from './load-report.js';
import { MIX, Workload } from './load-workload.js';
import { DEFAULT_OUT_DIR } from './run.js';

const PG_ADMIN_URL =
  process.env.NOTBEFORE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const USAGE = `Usage: npm run bench:load -- [--seconds 60] [--workers 32] [--users 100] [--out DIR]

Two \`notbefore serve\` instances on a fresh PostgreSQL database and a Redis of the run's own;
a closed loop of --workers requests in flight, each picking its route from the mix
sign-up 1 : sign-in 5 : refresh 50 : GET /auth/me 1000 : logout 5 : role change 1.
Writes load.{md,json,svg} (load-short.* when --seconds is under 60).`;

/** CPU seconds a process has used so far (user + system), from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat; after "pid (comm) " they are 12 and 13.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' },
      workers: { type: 'string' },
      users: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const seconds = Number(values.seconds ?? 60);
  const workers = Number(values.workers ?? 32);
  const seedUsers = Number(values.users ?? 100);
  if (![seconds, workers, seedUsers].every((n) => Number.isFinite(n) && n > 0)) {
    console.error(`bench:load: --seconds, --workers and --users take positive numbers\n\n${USAGE}`);
    return 2;
  }
  if (!hasRedisServer) {
    console.error('bench:load: needs redis-server on this machine');
    return 1;
  }
  const outDir = values.out ?? DEFAULT_OUT_DIR;
  const log = (line: string) => console.log(line);
  const runId = randomBytes(3).toString('hex');
  const database = `notbefore_load_${process.pid}_${runId}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const dbUrl = new URL(PG_ADMIN_URL);
  dbUrl.pathname = `/${database}`;
  let redis: TestRedis | undefined;
  const nodes: Running[] = [];
  const clients: LoadClient[] = [];
  const loadAverageStart = loadavg();
  const started = Date.now();
  try {
    redis = await TestRedis.start();
    const args = ['--db', dbUrl.toString(), '--redis', redis.url, '--rate-limit', '0'];
    // The first start creates the schema and the keys; the second finds them.
    nodes.push(await serve(args));
    nodes.push(await serve(args));
    log(`bench:load: ${nodes.map((n) => n.url).join(' and ')}, database ${database}, ${redis.url}`);
    for (const node of nodes) clients.push(new LoadClient(node.url, workers));
    const workload = new Workload(clients, runId, log);

    // Seed: users with two sessions each, and an admin made one in the database.
    const seedStarted = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < seedUsers) {
          next++;
          await workload.signup();
        }
      }),
    );
    for (let i = 0; i < seedUsers; i += 8)
      await Promise.all(Array.from({ length: 8 }, () => workload.login()));
    const adminEmail = `admin-${runId}@example.com`;
    const password = 'load test: the admin password';
    const signup = await clients[0]!.send('POST', '/auth/signup', {
      email: adminEmail,
      password,
    });
    if (signup.status !== 201) throw new Error(`admin signup answered ${signup.status}`);
    const db = new pg.Client({ connectionString: dbUrl.toString() });
    await db.connect();
    await db.query(`UPDATE nb_users SET roles = '["admin"]' WHERE email = $1`, [adminEmail]);
    await db.end();
    const login = await clients[1]!.send('POST', '/auth/login', { email: adminEmail, password });
    if (login.status !== 200) throw new Error(`admin login answered ${login.status}`);
    workload.setAdmin((login.body as { accessToken: string }).accessToken);
    if (workload.errorCount > 0) throw new Error('seeding failed (see above)');
    log(
      `  seeded ${workload.users.length} users, ${workload.liveSessions} sessions in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`,
    );

    // The database's backends (the pools and the feed's connections) and redis-server.
    const pgPids = (
      await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database])
    ).rows.map((r: { pid: number }) => r.pid);
    const redisClient = new Redis(redis.url);
    const redisPid = Number(/process_id:(\d+)/.exec(await redisClient.info('server'))?.[1]);
    redisClient.disconnect();
    const sum = (values: number[]) => values.filter(Number.isFinite).reduce((a, b) => a + b, 0);
    log(`  running ${seconds} s, ${workers} requests in flight…`);
    const cpu0 = {
      generator: process.cpuUsage(),
      servers: nodes.map((n) => cpuSeconds(n.process.pid)),
      postgres: pgPids.map(cpuSeconds),
      redis: cpuSeconds(redisPid),
      machine: machineCpu(),
    };
    const elapsed = await workload.run(workers, seconds * 1000);
    const generatorUsage = process.cpuUsage(cpu0.generator);
    const machine = machineCpu();
    const cpu = {
      cores: cpus().length,
      generatorSeconds: (generatorUsage.user + generatorUsage.system) / 1e6,
      serverSeconds: nodes.map((n, i) => cpuSeconds(n.process.pid) - cpu0.servers[i]!),
      postgresSeconds: sum(pgPids.map((pid, i) => cpuSeconds(pid) - cpu0.postgres[i]!)),
      redisSeconds: cpuSeconds(redisPid) - cpu0.redis,
      machineBusyFraction:
        (machine.busy - cpu0.machine.busy) / Math.max(1, machine.total - cpu0.machine.total),
    };
    const results: LoadResults = {
      meta: {
        date: new Date(started).toISOString(),
        seconds,
        elapsedSeconds: elapsed,
        workers,
        instances: nodes.length,
        seedUsers,
        mix: MIX,
        node: process.versions.node,
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        loadAverageStart,
        loadAverageEnd: loadavg(),
        postgres: String(
          (await admin.query('SELECT version() AS v')).rows[0]?.v ?? 'unknown',
        ).split(' on ')[0]!,
      },
      cpu,
      ...summarise(workload, elapsed),
    };
    mkdirSync(outDir, { recursive: true });
    const name = seconds >= 60 ? 'load' : 'load-short';
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(outDir, `${name}.md`), renderLoadMarkdown(results, `${name}.svg`));
    writeFileSync(join(outDir, `${name}.svg`), renderLoadSvg(results));
    log('');
    log(renderLoadMarkdown(results, `${name}.svg`));
    log(`Written to ${outDir}: ${name}.{md,json,svg}`);
    return results.errors.count === 0 ? 0 : 1;
  } finally {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.kill();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

process.exitCode = await main(process.argv.slice(2));
