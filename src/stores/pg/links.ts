import type {
  AcceptInvitationInput,
  AcceptInvitationResult,
  LinkKind,
  NewLink,
  StoredLink,
} from '../port.js';
import { toLink, toUser } from '../rows.js';
import type { Connection } from './connection.js';

/**
 * PostgreSQL's one-time links. A newer link of a kind supersedes the older ones of the same
 * subject by deleting them in the same transaction, so two concurrent requests leave one.
 */
export function linkWrites(conn: Connection) {
  const { U, N } = conn.tables;

  const createLink = (input: NewLink): Promise<StoredLink> =>
    conn.tx(async (c) => {
      // Serialises link creation per subject: of two concurrent requests, one link survives.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `notbefore:link:${input.kind}:${input.userId ?? `@${input.email}`}`,
      ]);
      if (input.userId === null)
        await c.query(
          `DELETE FROM ${N} WHERE kind = $1 AND email = $2 AND user_id IS NULL AND used_at IS NULL`,
          [input.kind, input.email],
        );
      else
        await c.query(`DELETE FROM ${N} WHERE kind = $1 AND user_id = $2 AND used_at IS NULL`, [
          input.kind,
          input.userId,
        ]);
      const row = await conn.first(
        c,
        `INSERT INTO ${N} (token_hash, id, kind, user_id, email, roles, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [
          input.tokenHash,
          input.id,
          input.kind,
          input.userId,
          input.email,
          JSON.stringify(input.roles),
          input.nowMs,
          input.expiresAt,
        ],
      );
      return toLink(row!);
    });

  const findLink = async (
    kind: LinkKind,
    tokenHash: string,
    nowMs: number,
  ): Promise<StoredLink | null> => {
    const row = (
      await conn.query(
        `SELECT * FROM ${N} WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL
           AND expires_at > $3`,
        [tokenHash, kind, nowMs],
      )
    )[0];
    return row === undefined ? null : toLink(row);
  };

  const acceptInvitation = (input: AcceptInvitationInput): Promise<AcceptInvitationResult> =>
    conn.tx(async (c) => {
      // Taken with the row lock: of two concurrent accepts, the second sees it used.
      const row = await conn.first(
        c,
        `UPDATE ${N} SET used_at = $1 WHERE token_hash = $2 AND kind = 'invitation'
           AND used_at IS NULL AND expires_at > $1 RETURNING *`,
        [input.nowMs, input.tokenHash],
      );
      if (row === undefined) return { ok: false, reason: 'link' };
      const link = toLink(row);
      const created = await conn.first(
        c,
        `INSERT INTO ${U} (id, email, password_hash, roles, created_at, email_verified)
         VALUES ($1, $2, $3, $4, $5, TRUE) ON CONFLICT DO NOTHING RETURNING *`,
        [input.user.id, link.email, input.user.passwordHash, row.roles, input.user.createdAt],
      );
      if (created === undefined) return { ok: false, reason: 'email-taken' };
      return { ok: true, user: toUser(created), link };
    });

  return { createLink, findLink, acceptInvitation };
}
