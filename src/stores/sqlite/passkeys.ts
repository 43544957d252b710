import type Database from 'better-sqlite3';
import type { Store, StoredChallenge, StoredPasskey } from '../port.js';

type Row = Record<string, unknown>;

/** The passkey and challenge methods of the port; adding and removing ride on revokeUser. */
export type PasskeyMethods = Pick<
  Store,
  'listPasskeys' | 'getPasskey' | 'updatePasskeyCounter' | 'createChallenge' | 'takeChallenge'
>;

/** A passkey row as the port shows it (shared with the PostgreSQL store). */
export function toPasskey(row: Row): StoredPasskey {
  const transports: unknown =
    typeof row.transports === 'string' ? JSON.parse(row.transports) : row.transports;
  return {
    id: String(row.id),
    userId: String(row.user_id),
    publicKey: String(row.public_key),
    counter: Number(row.counter),
    transports: Array.isArray(transports) ? transports.map(String) : [],
    deviceType: row.device_type === null ? null : String(row.device_type),
    backedUp: row.backed_up === true || row.backed_up === 1,
    name: row.name === null ? null : String(row.name),
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

/** A challenge row as the port shows it (shared with the PostgreSQL store). */
export function toChallenge(row: Row): StoredChallenge {
  return {
    challenge: String(row.challenge),
    purpose: row.purpose === 'register' ? 'register' : 'login',
    userId: row.user_id === null ? null : String(row.user_id),
    sid: row.sid === null ? null : String(row.sid),
    expiresAt: Number(row.expires_at),
  };
}

/**
 * The embedded store's passkeys and WebAuthn challenges. Each write is one statement whose
 * WHERE clause is the whole condition, and better-sqlite3 runs a statement to completion
 * (other processes wait on the write lock): the counter update is a compare-and-set and
 * taking a challenge is a single use.
 */
export function passkeyMethods(db: Database.Database): PasskeyMethods {
  const listByUser = db.prepare(
    'SELECT * FROM nb_passkeys WHERE user_id = ? ORDER BY created_at, id',
  );
  const byId = db.prepare('SELECT * FROM nb_passkeys WHERE id = ?');
  const setCounter = db.prepare(
    `UPDATE nb_passkeys SET counter = ?, last_used_at = ?
     WHERE id = ? AND counter = ? AND (? > counter OR (? = 0 AND counter = 0))`,
  );
  const insertChallenge = db.prepare(
    `INSERT INTO nb_challenges (challenge, purpose, user_id, sid, expires_at)
     VALUES (?, ?, ?, ?, ?)`,
  );
  const deleteChallenge = db.prepare(
    `DELETE FROM nb_challenges WHERE challenge = ? AND purpose = ? AND expires_at > ?
     RETURNING *`,
  );
  return {
    async listPasskeys(userId) {
      return (listByUser.all(userId) as Row[]).map(toPasskey);
    },
    async getPasskey(id) {
      const row = byId.get(id) as Row | undefined;
      return row === undefined ? null : toPasskey(row);
    },
    async updatePasskeyCounter(id, expected, next, nowMs) {
      return setCounter.run(next, nowMs, id, expected, next, next).changes === 1;
    },
    async createChallenge(input) {
      insertChallenge.run(input.challenge, input.purpose, input.userId, input.sid, input.expiresAt);
    },
    async takeChallenge(challenge, purpose, nowMs) {
      const row = deleteChallenge.get(challenge, purpose, nowMs) as Row | undefined;
      return row === undefined ? null : toChallenge(row);
    },
  };
}
