import type Database from 'better-sqlite3';
import type {
  AcceptInvitationInput,
  AcceptInvitationResult,
  LinkKind,
  NewLink,
  StoredLink,
} from '../port.js';
import { toLink, toUser } from '../rows.js';

type Row = Record<string, unknown>;

/**
 * The embedded store's one-time links. A newer link of a kind supersedes the older ones of
 * the same subject by deleting them: "superseded" and "unknown" are then one answer.
 */
export function linkWrites(db: Database.Database) {
  const one = (sql: string, ...params: unknown[]): Row | undefined =>
    db.prepare(sql).get(...params) as Row | undefined;
  const run = (sql: string, ...params: unknown[]) => db.prepare(sql).run(...params);

  const linkByHash = (tokenHash: string): StoredLink | null => {
    const row = one('SELECT * FROM nb_links WHERE token_hash = ?', tokenHash);
    return row === undefined ? null : toLink(row);
  };

  const createLink = db.transaction((input: NewLink): StoredLink => {
    if (input.userId === null)
      run(
        'DELETE FROM nb_links WHERE kind = ? AND email = ? AND user_id IS NULL AND used_at IS NULL',
        input.kind,
        input.email,
      );
    else
      run(
        'DELETE FROM nb_links WHERE kind = ? AND user_id = ? AND used_at IS NULL',
        input.kind,
        input.userId,
      );
    run(
      `INSERT INTO nb_links (token_hash, id, kind, user_id, email, roles, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      input.tokenHash,
      input.id,
      input.kind,
      input.userId,
      input.email,
      JSON.stringify(input.roles),
      input.nowMs,
      input.expiresAt,
    );
    return linkByHash(input.tokenHash)!;
  });

  const acceptInvitation = db.transaction(
    (input: AcceptInvitationInput): AcceptInvitationResult => {
      const link = linkByHash(input.tokenHash);
      if (
        link === null ||
        link.kind !== 'invitation' ||
        link.usedAt !== null ||
        link.expiresAt <= input.nowMs
      )
        return { ok: false, reason: 'link' };
      run('UPDATE nb_links SET used_at = ? WHERE token_hash = ?', input.nowMs, input.tokenHash);
      const created = run(
        `INSERT INTO nb_users (id, email, password_hash, roles, created_at, email_verified)
         VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT DO NOTHING`,
        input.user.id,
        link.email,
        input.user.passwordHash,
        JSON.stringify(link.roles),
        input.user.createdAt,
      );
      if (created.changes === 0) return { ok: false, reason: 'email-taken' };
      const user = toUser(one('SELECT * FROM nb_users WHERE id = ?', input.user.id)!);
      return { ok: true, user, link: { ...link, usedAt: input.nowMs } };
    },
  );

  return {
    linkByHash,
    createLink: (input: NewLink) => createLink.immediate(input),
    findLink(kind: LinkKind, tokenHash: string, nowMs: number): StoredLink | null {
      const link = linkByHash(tokenHash);
      if (link === null || link.kind !== kind || link.usedAt !== null || link.expiresAt <= nowMs)
        return null;
      return link;
    },
    acceptInvitation: (input: AcceptInvitationInput) => acceptInvitation.immediate(input),
  };
}
