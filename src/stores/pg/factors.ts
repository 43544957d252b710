import type pg from 'pg';
import type { FactorChange, Store, TotpMethods } from '../port.js';
import { toTotp } from '../rows.js';
import type { Connection } from './connection.js';

/**
 * The PostgreSQL store's second-factor writes: the TOTP and recovery-code methods of the
 * port, and the `FactorChange` that `revokeUser` applies inside its own transaction (with
 * the user row locked). Single use is one conditional UPDATE: PostgreSQL re-checks its WHERE
 * clause on the row it waited for, so of concurrent uses of one step or code exactly one
 * changes a row.
 */
export function factorWrites(conn: Connection) {
  const { query } = conn;
  const { U, T, RC, P, CH } = conn.tables;

  const replaceCodes = async (c: pg.PoolClient, userId: string, hashes: string[]) => {
    await c.query(`DELETE FROM ${RC} WHERE user_id = $1`, [userId]);
    await c.query(
      `INSERT INTO ${RC} (user_id, hash) SELECT $1, h FROM unnest($2::text[]) AS h
       ON CONFLICT DO NOTHING`,
      [userId, [...new Set(hashes)]],
    );
  };
  const hasConfirmedTotp = async (c: pg.PoolClient, userId: string) =>
    (await conn.first(c, `SELECT 1 FROM ${T} WHERE user_id = $1 AND confirmed_at IS NOT NULL`, [
      userId,
    ])) !== undefined;

  /** Every factor row of the user, and its challenges (a deleted user, an admin's removal). */
  const deleteFactors = async (c: pg.PoolClient, userId: string) => {
    await c.query(
      `WITH t AS (DELETE FROM ${T} WHERE user_id = $1),
            rc AS (DELETE FROM ${RC} WHERE user_id = $1),
            p AS (DELETE FROM ${P} WHERE user_id = $1)
       DELETE FROM ${CH} WHERE user_id = $1`,
      [userId],
    );
  };

  /**
   * Applies `change` for `userId`, or returns false having written nothing (the caller
   * refuses with 'no-factor'). Runs in the caller's transaction, the user row locked.
   */
  const applyFactorChange = async (
    c: pg.PoolClient,
    userId: string,
    change: FactorChange,
    nowMs: number,
  ): Promise<boolean> => {
    switch (change.kind) {
      case 'totp-confirm': {
        const confirmed = await conn.rows(
          c,
          `UPDATE ${T} SET confirmed_at = $1 WHERE user_id = $2 AND secret = $3
           AND confirmed_at IS NULL RETURNING user_id`,
          [nowMs, userId, change.secret],
        );
        if (confirmed.length !== 1) return false;
        await replaceCodes(c, userId, change.recoveryCodeHashes);
        return true;
      }
      case 'totp-remove':
        if (!(await hasConfirmedTotp(c, userId))) return false;
        await c.query(
          `WITH t AS (DELETE FROM ${T} WHERE user_id = $1) DELETE FROM ${RC} WHERE user_id = $1`,
          [userId],
        );
        return true;
      case 'recovery-regenerate':
        if (!(await hasConfirmedTotp(c, userId))) return false;
        await replaceCodes(c, userId, change.recoveryCodeHashes);
        return true;
      case 'passkey-add': {
        const p = change.passkey;
        if (p.userId !== userId) return false;
        const added = await conn.rows(
          c,
          `INSERT INTO ${P} (id, user_id, public_key, counter, transports, device_type,
             backed_up, name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [
            p.id,
            userId,
            p.publicKey,
            p.counter,
            JSON.stringify(p.transports),
            p.deviceType,
            p.backedUp,
            p.name,
            p.nowMs,
          ],
        );
        return added.length === 1;
      }
      case 'passkey-remove':
        return (
          (
            await conn.rows(c, `DELETE FROM ${P} WHERE id = $1 AND user_id = $2 RETURNING id`, [
              change.id,
              userId,
            ])
          ).length === 1
        );
      case 'remove-all':
        await deleteFactors(c, userId);
        return true;
    }
  };

  const methods: Pick<Store, TotpMethods> = {
    setPendingTotp: (userId, secret, nowMs) =>
      conn.tx(async (c) => {
        // FOR SHARE: a deletion or a factor change of the user (FOR UPDATE) is not interleaved.
        if (
          (await conn.first(c, `SELECT 1 FROM ${U} WHERE id = $1 FOR SHARE`, [userId])) ===
          undefined
        )
          return false;
        // A new enrolment replaces a pending one (and its last step); a confirmed one stays.
        const stored = await conn.rows(
          c,
          `INSERT INTO ${T} (user_id, secret, last_step, created_at) VALUES ($1, $2, 0, $3)
           ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = 0,
             created_at = excluded.created_at
           WHERE ${T}.confirmed_at IS NULL RETURNING user_id`,
          [userId, secret, nowMs],
        );
        return stored.length === 1;
      }),
    async getTotp(userId) {
      const row = (await query(`SELECT * FROM ${T} WHERE user_id = $1`, [userId]))[0];
      return row === undefined ? null : toTotp(row);
    },
    async useTotpStep(userId, step) {
      return (
        (
          await query(
            `UPDATE ${T} SET last_step = $2 WHERE user_id = $1 AND last_step < $2 RETURNING user_id`,
            [userId, step],
          )
        ).length === 1
      );
    },
    async useRecoveryCode(userId, hash, nowMs) {
      // Only while TOTP is confirmed: a half-finished enrolment accepts no recovery code.
      return (
        (
          await query(
            `UPDATE ${RC} SET used_at = $3 WHERE user_id = $1 AND hash = $2 AND used_at IS NULL
             AND EXISTS (SELECT 1 FROM ${T} t WHERE t.user_id = $1 AND t.confirmed_at IS NOT NULL)
             RETURNING hash`,
            [userId, hash, nowMs],
          )
        ).length === 1
      );
    },
    async recoveryCodesLeft(userId) {
      const row = (
        await query(`SELECT count(*) AS n FROM ${RC} WHERE user_id = $1 AND used_at IS NULL`, [
          userId,
        ])
      )[0];
      return Number(row?.n ?? 0);
    },
  };

  return {
    applyFactorChange,
    deleteFactors,
    purgeChallenges: async (c: pg.PoolClient, nowMs: number) => {
      await c.query(`DELETE FROM ${CH} WHERE expires_at <= $1`, [nowMs]);
    },
    /** The port's TOTP and recovery-code methods, spread into the store. */
    methods,
  };
}
