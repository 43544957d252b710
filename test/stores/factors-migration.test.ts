/**
 * Data of 0.1.0 (its schema only: no amr, no factor tables) upgraded by opening it with this
 * version: the users sign in, an old session reads as a password sign-in, and TOTP can be
 * turned on. Both stores.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Secret, TOTP } from 'otpauth';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { createAuth } from '../../src/sessions/auth.js';
import { passwordHasher } from '../../src/sessions/passwords.js';
import { migrations } from '../../src/stores/pg/schema.js';
import type { Store } from '../../src/stores/port.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { MIGRATIONS } from '../../src/stores/sqlite/schema.js';
import { sqliteStore } from '../../src/stores/sqlite.js';

const CHEAP = { memoryCost: 256, timeCost: 1, parallelism: 1 };
const PASSWORD = 'correct horse battery staple';
const T0 = Date.UTC(2026, 0, 1);

/** One user and one live session, as 0.1.0 wrote them. */
const oldRows = async () => ({
  user: [
    'u-old',
    'old@example.test',
    await passwordHasher(CHEAP).hash(PASSWORD),
    '["member"]',
    T0,
  ] as const,
  session: ['s-old', 'u-old', 'laptop', null, T0, T0, T0, T0, T0 + 86_400_000, T0 + 864_000_000],
});

/** Opens the upgraded store: the old session is a password one; sign-in and TOTP work. */
async function upgradedWorks(store: Store): Promise<void> {
  const clock = manualClock(T0 + 60_000);
  const auth = createAuth({
    store,
    clock,
    password: { ...CHEAP, allowWeakHash: true },
  });
  try {
    await auth.ready();
    expect((await store.getSession('s-old'))?.amr).toEqual(['pwd']);
    const s = await auth.login({ email: 'old@example.test', password: PASSWORD });
    expect(s.claims.amr).toEqual(['pwd']);
    const { secret } = await auth.startTotp(s.user.id, { sid: s.session.sid });
    const code = TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock.now() });
    const { recoveryCodes } = await auth.confirmTotp(s.user.id, code);
    expect(recoveryCodes).toHaveLength(10);
    await expect(
      auth.login({ email: 'old@example.test', password: PASSWORD }),
    ).rejects.toMatchObject({ code: 'MFA_REQUIRED' });
    const again = await auth.login({
      email: 'old@example.test',
      password: PASSWORD,
      otp: recoveryCodes[0]!,
    });
    expect(again.claims.amr).toEqual(['pwd', 'otp', 'mfa']);
  } finally {
    await auth.close();
  }
}

describe('0.1.0 data upgraded to second factors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'notbefore-upgrade-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SQLite: a 0.1.0 file (no user_version) gains the factor tables and keeps its users', async () => {
    const file = join(dir, 'old.db');
    const db = new Database(file);
    db.exec(MIGRATIONS[0]!); // 0.1.0 set no user_version: it stays 0
    const rows = await oldRows();
    db.prepare(
      'INSERT INTO nb_users (id, email, password_hash, roles, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(...rows.user);
    db.prepare(
      `INSERT INTO nb_sessions (sid, user_id, device, client_key, created_at, last_seen_at,
         auth_time, last_issued_at, idle_expires_at, absolute_expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(...rows.session);
    db.close();
    const store = sqliteStore(file);
    try {
      await upgradedWorks(store);
    } finally {
      await store.close();
    }
    const reopened = new Database(file);
    expect(reopened.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    reopened.close();
  });

  const url = process.env.NOTBEFORE_TEST_PG_URL;
  it.skipIf(url === undefined)(
    'PostgreSQL: a 0.1.0 schema (version 1) is migrated once, its users sign in',
    async () => {
      const schema = `upgrade_${randomBytes(4).toString('hex')}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE SCHEMA ${schema}`);
        await client.query(migrations(schema)[0]!);
        await client.query(`CREATE TABLE ${schema}.nb_schema_version (version INTEGER NOT NULL)`);
        await client.query(`INSERT INTO ${schema}.nb_schema_version (version) VALUES (1)`);
        const rows = await oldRows();
        await client.query(
          `INSERT INTO ${schema}.nb_users (id, email, password_hash, roles, created_at)
           VALUES ($1, $2, $3, $4, $5)`,
          [...rows.user],
        );
        await client.query(
          `INSERT INTO ${schema}.nb_sessions (sid, user_id, device, client_key, created_at,
             last_seen_at, auth_time, last_issued_at, idle_expires_at, absolute_expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          rows.session,
        );
        const store = postgresStore(url as string, { schema });
        try {
          await upgradedWorks(store);
        } finally {
          await store.close();
        }
        const versions = await client.query(
          `SELECT version FROM ${schema}.nb_schema_version ORDER BY version`,
        );
        expect(versions.rows.map((r) => r.version)).toEqual(
          migrations(schema).map((_, i) => i + 1),
        );
      } finally {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      }
    },
  );
});
