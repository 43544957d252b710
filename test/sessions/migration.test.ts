import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mail } from '../../src/mail/types.js';
import { createAuth } from '../../src/sessions/auth.js';
import { passwordHasher } from '../../src/sessions/passwords.js';
import { migrations } from '../../src/stores/pg/schema.js';
import type { Store } from '../../src/stores/port.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { MIGRATIONS } from '../../src/stores/sqlite/schema.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { CHEAP_HASH, PASSWORD } from './helpers.js';

const pgUrl = process.env.NOTBEFORE_TEST_PG_URL;
const OLD_USER = { id: 'old-user-1', email: 'old@example.test' };

/**
 * A database written by 0.1.0/0.2.0 (the first migration only, the user row as that version
 * wrote it, without the columns that came later) upgrades in place when this version opens
 * it, and its user signs in, is unverified, and can use the new flows.
 */
async function provesUpgrade(store: Store): Promise<void> {
  const outbox: Mail[] = [];
  const auth = createAuth({
    store,
    password: CHEAP_HASH,
    mailer: { send: async (mail) => void outbox.push(mail) },
    publicUrl: 'https://app.example.test',
  });
  try {
    await auth.ready();
    const s = await auth.login({ email: OLD_USER.email, password: PASSWORD });
    expect(s.user).toMatchObject({ id: OLD_USER.id, roles: ['editor'], emailVerified: false });
    expect(auth.verify(s.accessToken)).toMatchObject({ sub: OLD_USER.id, email_verified: false });
    await auth.forgotPassword(OLD_USER.email);
    await auth.close(); // hands the queued mail over
    const token = /#reset-password=([\w-]+)/.exec(outbox[0]?.text ?? '')?.[1];
    expect(token).toBeDefined();
    const again = createAuth({ store, password: CHEAP_HASH });
    try {
      await again.ready();
      await again.resetPassword(token as string, 'a brand new passphrase');
      const after = await again.login({
        email: OLD_USER.email,
        password: 'a brand new passphrase',
      });
      expect(after.user.emailVerified).toBe(true);
    } finally {
      await again.close();
    }
  } finally {
    await auth.close();
  }
}

describe('migration from 0.1.0 data', () => {
  let hash: string;
  beforeAll(async () => {
    hash = await passwordHasher(CHEAP_HASH).hash(PASSWORD);
  });

  describe('SQLite file', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'notbefore-migration-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('upgrades in place (user_version 0 → latest) and the user still signs in', async () => {
      const file = join(dir, 'old.db');
      const old = new Database(file);
      old.exec(MIGRATIONS[0] as string);
      old
        .prepare(
          'INSERT INTO nb_users (id, email, password_hash, roles, created_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(OLD_USER.id, OLD_USER.email, hash, '["editor"]', Date.UTC(2025, 0, 1));
      expect(old.pragma('user_version', { simple: true })).toBe(0);
      old.close();

      const store = sqliteStore(file);
      try {
        await provesUpgrade(store);
      } finally {
        await store.close();
      }
      const upgraded = new Database(file, { readonly: true });
      expect(upgraded.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      upgraded.close();
      // Opening it once more runs nothing again.
      const reopened = sqliteStore(file);
      await reopened.init();
      expect((await reopened.findUserByEmail(OLD_USER.email))?.emailVerified).toBe(true);
      await reopened.close();
    });
  });

  describe.skipIf(pgUrl === undefined)('PostgreSQL schema', () => {
    it('upgrades in place (schema version 1 → latest) and the user still signs in', async () => {
      const schema = `mig_${randomBytes(5).toString('hex')}`;
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      try {
        await client.query(`CREATE SCHEMA ${schema}`);
        await client.query(migrations(schema)[0] as string);
        // What 0.1.0's migrate() left behind: the version table, at 1.
        await client.query(`CREATE TABLE ${schema}.nb_schema_version (version INTEGER NOT NULL)`);
        await client.query(`INSERT INTO ${schema}.nb_schema_version (version) VALUES (1)`);
        await client.query(
          `INSERT INTO ${schema}.nb_users (id, email, password_hash, roles, created_at)
           VALUES ($1, $2, $3, $4, $5)`,
          [OLD_USER.id, OLD_USER.email, hash, '["editor"]', Date.UTC(2025, 0, 1)],
        );
        const store = postgresStore(pgUrl as string, { schema });
        try {
          await provesUpgrade(store);
        } finally {
          await store.close();
        }
        const version = await client.query(
          `SELECT max(version) AS v FROM ${schema}.nb_schema_version`,
        );
        expect(Number(version.rows[0].v)).toBe(migrations(schema).length);
      } finally {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
        await client.end();
      }
    });
  });
});
