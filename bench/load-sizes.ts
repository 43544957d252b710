// `node --import tsx bench/load-sizes.ts [--rows 100000] [--seconds 3]`: the unit costs the
// capacity model (docs/capacity.md) builds on — bytes per row of each store table, bytes per
// feed entry in Redis, and how fast the revocation log takes appends — measured on a fresh
// database and a Redis of its own, both dropped afterwards. Writes
// bench/results/sizes.{md,json}.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { MISSING_SCRIPT, PUBLISH_SCRIPT } from '../src/feeds/redis-scripts.js';
import type { RevocationEvent } from '../src/revocation/events.js';
import { DEFAULT_HASH_PARAMS, passwordHasher } from '../src/sessions/passwords.js';
import { postgresStore } from '../src/stores/postgres.js';
import { TestRedis } from '../test/cluster/redis-server.js';
import { DEFAULT_OUT_DIR } from './run.js';

const PG_ADMIN_URL =
  process.env.NOTBEFORE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NOW = 1_800_000_000_000;
const id = () => randomBytes(16).toString('base64url');
const hex = () => createHash('sha256').update(randomBytes(16)).digest('hex');

/** Events as the library writes them (ids of 22 characters, as it makes them). */
const EVENTS: Record<string, () => RevocationEvent> = {
  session: () => ({ kind: 'session', sid: id(), sub: id(), at: NOW, cause: 'logout' }),
  user: () => ({ kind: 'user', sub: id(), at: NOW, scope: 'tokens', cause: 'roles' }),
  token: () => ({ kind: 'token', jti: id(), exp: NOW + 900_000, at: NOW }),
};

interface Rate {
  what: string;
  inFlight: number;
  perSec: number;
  ops: number;
}

async function appendRate(
  what: string,
  store: ReturnType<typeof postgresStore>,
  inFlight: number,
  ms: number,
): Promise<Rate> {
  let ops = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() - t0 < ms) {
        await store.revokeToken({ jti: id(), exp: Date.now() + 900_000, nowMs: Date.now() });
        ops++;
      }
    }),
  );
  return { what, inFlight, ops, perSec: ops / ((performance.now() - t0) / 1000) };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { rows: { type: 'string' }, seconds: { type: 'string' }, out: { type: 'string' } },
  });
  const rows = Number(values.rows ?? 100_000);
  const seconds = Number(values.seconds ?? 3);
  const outDir = values.out ?? DEFAULT_OUT_DIR;
  const name = `notbefore_sizes_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const redis = await TestRedis.start();
  const started = Date.now();
  const loadAverageStart = loadavg();
  try {
    // --- PostgreSQL: bytes per row, every index included, after VACUUM ---
    const store = postgresStore(url.toString(), { schema: 'nb' });
    await store.init();
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    // Rows as the library writes them; the log's NOTIFY trigger is not what is measured.
    await db.query('SET session_replication_role = replica');
    const insert = async (sql: string, make: () => unknown[]) => {
      for (let done = 0; done < rows; done += 1000) {
        const batch = Array.from({ length: Math.min(1000, rows - done) }, make);
        const width = batch[0]!.length;
        const placeholders = batch
          .map((_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`)})`)
          .join(',');
        await db.query(`${sql} VALUES ${placeholders}`, batch.flat());
      }
    };
    const tables: Record<string, { bytesPerRow: number; heapPerRow: number; rows: number }> = {};
    const measure = async (table: string) => {
      await db.query(`VACUUM ANALYZE nb.${table}`);
      const r = (
        await db.query(
          `SELECT pg_total_relation_size('nb.${table}') AS total, pg_relation_size('nb.${table}') AS heap,
             (SELECT count(*) FROM nb.${table}) AS n`,
        )
      ).rows[0] as { total: string; heap: string; n: string };
      tables[table] = {
        rows: Number(r.n),
        bytesPerRow: Number(r.total) / Number(r.n),
        heapPerRow: Number(r.heap) / Number(r.n),
      };
    };
    const eventJson: Record<string, number> = {};
    for (const [kind, make] of Object.entries(EVENTS)) {
      eventJson[kind] = Buffer.byteLength(JSON.stringify(make()));
    }
    await insert('INSERT INTO nb.nb_revocations (kind, at, live_from, event)', () => {
      const e = EVENTS.session!();
      return [e.kind, e.at, e.at, JSON.stringify(e)];
    });
    await measure('nb_revocations');
    // What every instance's full outbox check reads (every 30 s): the whole live window.
    const window0 = performance.now();
    const live = await store.liveRevocations(NOW - 1000, 960_000);
    const liveWindowMs = performance.now() - window0;
    if (live.length !== rows) throw new Error(`live window: ${live.length} of ${rows}`);
    const phc = `$argon2id$v=19$m=19456,t=2,p=1$${randomBytes(16).toString('base64').replace(/=+$/, '')}$${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const userIds: string[] = [];
    await insert(
      'INSERT INTO nb.nb_users (id, email, password_hash, roles, created_at, email_verified)',
      () => {
        const u = id();
        userIds.push(u);
        return [u, `${u.slice(0, 12).toLowerCase()}@example.com`, phc, '["member"]', NOW, true];
      },
    );
    await measure('nb_users');
    const sids: string[] = [];
    await insert(
      `INSERT INTO nb.nb_sessions (sid, user_id, device, client_key, created_at, last_seen_at,
        auth_time, last_issued_at, idle_expires_at, absolute_expires_at)`,
      () => {
        const sid = id();
        sids.push(sid);
        const u = userIds[sids.length % userIds.length]!;
        return [sid, u, 'Firefox on Linux', '203.0.113.7', NOW, NOW, NOW, NOW, NOW + 1, NOW + 2];
      },
    );
    await measure('nb_sessions');
    let k = 0;
    await insert('INSERT INTO nb.nb_refresh_tokens (hash, sid, created_at, rotated_at)', () => [
      hex(),
      sids[k++ % sids.length]!,
      NOW,
      k % 2 === 0 ? NOW : null,
    ]);
    await measure('nb_refresh_tokens');
    await db.end();

    // --- Redis: bytes per feed entry (stream entry + its seq in the sorted set) ---
    const client = new Redis(redis.url);
    const key = 'notbefore:revocations';
    await client.xadd(key, '*', 'seed', '0');
    const sha = (await client.script('LOAD', PUBLISH_SCRIPT)) as string;
    const before = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
    for (let done = 0; done < rows; done += 1000) {
      const pipe = client.pipeline();
      for (let i = 0; i < 1000 && done + i < rows; i++)
        pipe.evalsha(
          sha,
          2,
          key,
          `${key}:seqs`,
          '0-0',
          '0',
          JSON.stringify(EVENTS.session!()),
          String(done + i + 1),
        );
      await pipe.exec();
    }
    const after = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
    // …and the question it then asks Redis: which of these seqs are missing (1,000 a call).
    const missingSha = (await client.script('LOAD', MISSING_SCRIPT)) as string;
    const missing0 = performance.now();
    for (let done = 0; done < rows; done += 1000) {
      const seqs = Array.from({ length: Math.min(1000, rows - done) }, (_, i) =>
        String(done + i + 1),
      );
      await client.evalsha(missingSha, 2, key, `${key}:seqs`, ...seqs);
    }
    const missingMs = performance.now() - missing0;
    const streamBytes = Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    const seqBytes = Number(await client.call('MEMORY', 'USAGE', `${key}:seqs`, 'SAMPLES', '0'));
    // Publish rate: the feed's own script, one connection, 64 in flight.
    await client.del(key, `${key}:seqs`);
    await client.xadd(key, '*', 'seed', '0');
    let published = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (performance.now() - t0 < seconds * 1000) {
          await client.evalsha(
            sha,
            2,
            key,
            `${key}:seqs`,
            '0-0',
            '0',
            JSON.stringify(EVENTS.session!()),
            String(++published),
          );
        }
      }),
    );
    const publishPerSec = published / ((performance.now() - t0) / 1000);
    client.disconnect();

    // --- The revocation log: appends per second (advisory lock held to the commit) ---
    const rates: Rate[] = [];
    for (const inFlight of [1, 16])
      rates.push(
        await appendRate('revokeToken, synchronous_commit on', store, inFlight, seconds * 1000),
      );
    const nosyncPool = new pg.Pool({
      connectionString: url.toString(),
      max: 10,
      options: '-c synchronous_commit=off',
    });
    const nosync = postgresStore(nosyncPool, { schema: 'nb' });
    rates.push(await appendRate('revokeToken, synchronous_commit off', nosync, 16, seconds * 1000));
    await nosync.close();
    await nosyncPool.end();
    await store.close();

    // --- LISTEN/NOTIFY alone: notifications a listener receives per second, 16 senders ---
    const listener = new pg.Client({ connectionString: url.toString() });
    await listener.connect();
    let heard = 0;
    listener.on('notification', () => {
      heard++;
    });
    await listener.query('LISTEN nb_bench');
    const senders = new pg.Pool({ connectionString: url.toString(), max: 16 });
    let sent = 0;
    const n0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() - n0 < seconds * 1000) {
          await senders.query('SELECT pg_notify($1, $2)', ['nb_bench', String(++sent)]);
        }
      }),
    );
    const sendSeconds = (performance.now() - n0) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const notify = { sentPerSec: sent / sendSeconds, heardPerSec: heard / sendSeconds };
    await senders.end();
    await listener.end();

    // --- A sign-in's password check: argon2id at the default cost, CPU per verify ---
    const hasher = passwordHasher(DEFAULT_HASH_PARAMS);
    const stored = await hasher.hash('correct horse battery staple');
    await hasher.verify(stored, 'correct horse battery staple');
    const verifies = 20;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let i = 0; i < verifies; i++) await hasher.verify(stored, 'correct horse battery staple');
    const cpu = process.cpuUsage(cpu0);
    const argon2 = {
      cpuMsPerVerify: (cpu.user + cpu.system) / 1000 / verifies,
      wallMsPerVerify: (performance.now() - wall0) / verifies,
    };

    const results = {
      meta: {
        date: new Date(started).toISOString(),
        rows,
        seconds,
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        loadAverageStart,
        loadAverageEnd: loadavg(),
        postgres: String((await admin.query('SELECT version() AS v')).rows[0]?.v).split(' on ')[0],
      },
      eventJsonBytes: eventJson,
      postgres: tables,
      redis: {
        entries: rows,
        streamBytesPerEntry: streamBytes / rows,
        seqBytesPerEntry: seqBytes / rows,
        usedMemoryPerEntry: (after - before) / rows,
        publishPerSec,
      },
      logAppends: rates,
      argon2,
      notify,
      outboxFullCheck: { entries: rows, liveWindowReadMs: liveWindowMs, redisMissingMs: missingMs },
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'sizes.json'), `${JSON.stringify(results, null, 2)}\n`);
    const md = [
      '# Unit sizes and log append rates (bench/load-sizes.ts)',
      '',
      `${results.meta.date} · ${results.meta.cpu} × ${results.meta.cores} · ${results.meta.postgres} · load average ${loadAverageStart.map((v) => v.toFixed(2)).join(' ')} → ${results.meta.loadAverageEnd.map((v) => v.toFixed(2)).join(' ')}`,
      '',
      `Event JSON: ${Object.entries(eventJson)
        .map(([k, v]) => `${k} ${v} B`)
        .join(', ')}.`,
      '',
      '| PostgreSQL table | rows | bytes/row, indexes included | heap only |',
      '|---|---:|---:|---:|',
      ...Object.entries(tables).map(
        ([t, v]) =>
          `| ${t} | ${v.rows.toLocaleString('en')} | ${v.bytesPerRow.toFixed(0)} | ${v.heapPerRow.toFixed(0)} |`,
      ),
      '',
      `Redis feed, ${rows.toLocaleString('en')} session events: stream ${results.redis.streamBytesPerEntry.toFixed(1)} B/entry, seq sorted set ${results.redis.seqBytesPerEntry.toFixed(1)} B/entry, used_memory growth ${results.redis.usedMemoryPerEntry.toFixed(1)} B/entry. The publish script (XADD + ZADD + trim), one connection, 64 in flight: ${publishPerSec.toFixed(0)}/s.`,
      '',
      '| log appends (store.revokeToken) | in flight | per second |',
      '|---|---:|---:|',
      ...rates.map((r) => `| ${r.what} | ${r.inFlight} | ${r.perSec.toFixed(0)} |`),
      '',
      `LISTEN/NOTIFY alone (a NOTIFY per autocommit transaction, 16 senders, one listener): ${notify.sentPerSec.toFixed(0)} sent/s, ${notify.heardPerSec.toFixed(0)} heard/s.`,
      '',
      `A full outbox check over ${rows.toLocaleString('en')} live entries: reading the live window ${liveWindowMs.toFixed(0)} ms (store.liveRevocations), asking Redis which seqs are missing ${missingMs.toFixed(0)} ms.`,
      '',
      `argon2id (m=${DEFAULT_HASH_PARAMS.memoryCost} KiB, t=${DEFAULT_HASH_PARAMS.timeCost}, p=${DEFAULT_HASH_PARAMS.parallelism}), one verify at a time: ${argon2.cpuMsPerVerify.toFixed(1)} ms CPU, ${argon2.wallMsPerVerify.toFixed(1)} ms wall.`,
      '',
    ].join('\n');
    writeFileSync(join(outDir, 'sizes.md'), md);
    console.log(md);
  } finally {
    await redis.kill();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main(process.argv.slice(2));
