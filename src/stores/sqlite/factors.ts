import type Database from 'better-sqlite3';
import type { FactorChange, Store, StoredTotp, TotpMethods } from '../port.js';
import { toTotp } from '../rows.js';

type Row = Record<string, unknown>;

/**
 * The embedded store's second-factor writes: the TOTP and recovery-code methods of the port,
 * and the `FactorChange` that `revokeUser` applies inside its own transaction. better-sqlite3
 * runs each statement (and each transaction) to completion, so a conditional UPDATE is the
 * atomic single use the port asks for.
 */
export function factorWrites(db: Database.Database) {
  const one = (sql: string, ...params: unknown[]): Row | undefined =>
    db.prepare(sql).get(...params) as Row | undefined;
  const run = (sql: string, ...params: unknown[]) => db.prepare(sql).run(...params);

  const replaceCodes = (userId: string, hashes: string[]) => {
    run('DELETE FROM nb_recovery_codes WHERE user_id = ?', userId);
    const insert = db.prepare('INSERT INTO nb_recovery_codes (user_id, hash) VALUES (?, ?)');
    for (const hash of new Set(hashes)) insert.run(userId, hash);
  };
  const hasConfirmedTotp = (userId: string) =>
    one('SELECT 1 FROM nb_totp WHERE user_id = ? AND confirmed_at IS NOT NULL', userId) !==
    undefined;

  /**
   * Applies `change` for `userId`, or returns false having written nothing (the caller
   * refuses with 'no-factor'). Must run inside the caller's transaction.
   */
  const applyFactorChange = (userId: string, change: FactorChange, nowMs: number): boolean => {
    switch (change.kind) {
      case 'totp-confirm': {
        const confirmed = run(
          `UPDATE nb_totp SET confirmed_at = ? WHERE user_id = ? AND secret = ?
           AND confirmed_at IS NULL`,
          nowMs,
          userId,
          change.secret,
        );
        if (confirmed.changes !== 1) return false;
        replaceCodes(userId, change.recoveryCodeHashes);
        return true;
      }
      case 'totp-remove':
        if (!hasConfirmedTotp(userId)) return false;
        run('DELETE FROM nb_totp WHERE user_id = ?', userId);
        run('DELETE FROM nb_recovery_codes WHERE user_id = ?', userId);
        return true;
      case 'recovery-regenerate':
        if (!hasConfirmedTotp(userId)) return false;
        replaceCodes(userId, change.recoveryCodeHashes);
        return true;
      case 'passkey-add': {
        const p = change.passkey;
        if (p.userId !== userId) return false;
        return (
          run(
            `INSERT INTO nb_passkeys (id, user_id, public_key, counter, transports, device_type,
               backed_up, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO NOTHING`,
            p.id,
            userId,
            p.publicKey,
            p.counter,
            JSON.stringify(p.transports),
            p.deviceType,
            p.backedUp ? 1 : 0,
            p.name,
            p.nowMs,
          ).changes === 1
        );
      }
      case 'passkey-remove':
        return (
          run('DELETE FROM nb_passkeys WHERE id = ? AND user_id = ?', change.id, userId).changes ===
          1
        );
      case 'remove-all':
        deleteFactors(userId);
        return true;
    }
  };

  /** Every factor row of the user, and its challenges (a deleted user, an admin's removal). */
  const deleteFactors = (userId: string) => {
    run('DELETE FROM nb_totp WHERE user_id = ?', userId);
    run('DELETE FROM nb_recovery_codes WHERE user_id = ?', userId);
    run('DELETE FROM nb_passkeys WHERE user_id = ?', userId);
    run('DELETE FROM nb_challenges WHERE user_id = ?', userId);
  };

  const setPendingTotp = db.transaction(
    (userId: string, secret: string, nowMs: number): boolean => {
      if (one('SELECT 1 FROM nb_users WHERE id = ?', userId) === undefined) return false;
      // A new enrolment replaces a pending one (and its last step); a confirmed one stays.
      return (
        run(
          `INSERT INTO nb_totp (user_id, secret, last_step, created_at) VALUES (?, ?, 0, ?)
           ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = 0,
             created_at = excluded.created_at
           WHERE nb_totp.confirmed_at IS NULL`,
          userId,
          secret,
          nowMs,
        ).changes === 1
      );
    },
  );

  const useTotpStep = (userId: string, step: number): boolean =>
    run('UPDATE nb_totp SET last_step = ? WHERE user_id = ? AND last_step < ?', step, userId, step)
      .changes === 1;
  // Only while TOTP is confirmed: codes left over from a removed TOTP are deleted with it,
  // but the condition keeps a half-finished enrolment from accepting them.
  const useRecoveryCode = (userId: string, hash: string, nowMs: number): boolean =>
    run(
      `UPDATE nb_recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ?
       AND used_at IS NULL AND EXISTS (SELECT 1 FROM nb_totp t WHERE t.user_id = ?
         AND t.confirmed_at IS NOT NULL)`,
      nowMs,
      userId,
      hash,
      userId,
    ).changes === 1;
  const getTotp = (userId: string): StoredTotp | null => {
    const row = one('SELECT * FROM nb_totp WHERE user_id = ?', userId);
    return row === undefined ? null : toTotp(row);
  };
  const codesLeft = (userId: string): number =>
    Number(
      one(
        'SELECT COUNT(*) AS n FROM nb_recovery_codes WHERE user_id = ? AND used_at IS NULL',
        userId,
      )?.n ?? 0,
    );

  const methods: Pick<Store, TotpMethods> = {
    async setPendingTotp(userId, secret, nowMs) {
      return setPendingTotp.immediate(userId, secret, nowMs);
    },
    async getTotp(userId) {
      return getTotp(userId);
    },
    async useTotpStep(userId, step) {
      return useTotpStep(userId, step);
    },
    async useRecoveryCode(userId, hash, nowMs) {
      return useRecoveryCode(userId, hash, nowMs);
    },
    async recoveryCodesLeft(userId) {
      return codesLeft(userId);
    },
  };

  return {
    applyFactorChange,
    deleteFactors,
    purgeChallenges: (nowMs: number) => {
      run('DELETE FROM nb_challenges WHERE expires_at <= ?', nowMs);
    },
    /** The port's TOTP and recovery-code methods, spread into the store. */
    methods,
  };
}
