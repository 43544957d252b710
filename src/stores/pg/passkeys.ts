import { type PasskeyMethods, toChallenge, toPasskey } from '../sqlite/passkeys.js';
import type { Connection } from './connection.js';

/**
 * The PostgreSQL store's passkeys and WebAuthn challenges. Each write is one statement whose
 * WHERE clause is the whole condition; PostgreSQL re-checks it on the row it locks, so the
 * counter update is a compare-and-set and of concurrent `DELETE … RETURNING`s of one challenge
 * exactly one returns it.
 */
export function passkeyMethods(conn: Connection): PasskeyMethods {
  const { query } = conn;
  const { P, CH } = conn.tables;
  return {
    async listPasskeys(userId) {
      return (
        await query(`SELECT * FROM ${P} WHERE user_id = $1 ORDER BY created_at, id`, [userId])
      ).map(toPasskey);
    },
    async getPasskey(id) {
      const row = (await query(`SELECT * FROM ${P} WHERE id = $1`, [id]))[0];
      return row === undefined ? null : toPasskey(row);
    },
    async updatePasskeyCounter(id, expected, next, nowMs) {
      const changed = await query(
        `UPDATE ${P} SET counter = $3, last_used_at = $4
         WHERE id = $1 AND counter = $2 AND ($3 > counter OR ($3 = 0 AND counter = 0))
         RETURNING id`,
        [id, expected, next, nowMs],
      );
      return changed.length === 1;
    },
    async createChallenge(input) {
      await query(
        `INSERT INTO ${CH} (challenge, purpose, user_id, sid, expires_at)
         VALUES ($1, $2, $3, $4, $5)`,
        [input.challenge, input.purpose, input.userId, input.sid, input.expiresAt],
      );
    },
    async takeChallenge(challenge, purpose, nowMs) {
      const row = (
        await query(
          `DELETE FROM ${CH} WHERE challenge = $1 AND purpose = $2 AND expires_at > $3
           RETURNING *`,
          [challenge, purpose, nowMs],
        )
      )[0];
      return row === undefined ? null : toChallenge(row);
    },
  };
}
