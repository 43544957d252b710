/**
 * The first schema (0.1.0). `CREATE … IF NOT EXISTS`, so a 0.1.0 file, which has no
 * `user_version`, runs it again harmlessly before the later migrations.
 */
const BASE = `
CREATE TABLE IF NOT EXISTS nb_users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  roles TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  tokens_valid_after INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS nb_sessions (
  sid TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  device TEXT,
  client_key TEXT,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  auth_time INTEGER NOT NULL,
  last_issued_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoke_cause TEXT
);
CREATE INDEX IF NOT EXISTS nb_sessions_user ON nb_sessions (user_id, created_at);
CREATE TABLE IF NOT EXISTS nb_refresh_tokens (
  hash TEXT PRIMARY KEY,
  sid TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  rotated_at INTEGER
);
CREATE INDEX IF NOT EXISTS nb_refresh_tokens_sid ON nb_refresh_tokens (sid);
CREATE TABLE IF NOT EXISTS nb_revocations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  at INTEGER NOT NULL,
  live_from INTEGER NOT NULL,
  event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nb_revocations_live ON nb_revocations (live_from);
CREATE TABLE IF NOT EXISTS nb_failures (
  key TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  window_start INTEGER NOT NULL,
  last_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nb_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nb_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/**
 * 0.3.0: second factors. `amr` NULL in an older session row means `["pwd"]` (rows.ts). The
 * TOTP secret is stored encrypted (AES-256-GCM, see src/sessions/totp.ts); recovery codes
 * and challenges only as the values the library writes (hashes, random base64url).
 */
const FACTORS = `
ALTER TABLE nb_sessions ADD COLUMN amr TEXT;
CREATE TABLE nb_totp (
  user_id TEXT PRIMARY KEY,
  secret TEXT NOT NULL,
  confirmed_at INTEGER,
  last_step INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE nb_recovery_codes (
  user_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  used_at INTEGER,
  PRIMARY KEY (user_id, hash)
);
CREATE TABLE nb_passkeys (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  public_key TEXT NOT NULL,
  counter INTEGER NOT NULL,
  transports TEXT,
  device_type TEXT,
  backed_up INTEGER NOT NULL DEFAULT 0,
  name TEXT,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
);
CREATE INDEX nb_passkeys_user ON nb_passkeys (user_id);
CREATE TABLE nb_challenges (
  challenge TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  user_id TEXT,
  sid TEXT,
  expires_at INTEGER NOT NULL
);
CREATE INDEX nb_challenges_expiry ON nb_challenges (expires_at);
`;

/**
 * The embedded store's migrations, in order: entry i brings `PRAGMA user_version` from i to
 * i + 1. Append only; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  BASE,
  // 0.3.0: account lifecycle. Accounts made before it count as unverified.
  `ALTER TABLE nb_users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE nb_links (
    token_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    user_id TEXT,
    email TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  );
  CREATE INDEX nb_links_user ON nb_links (kind, user_id);
  CREATE INDEX nb_links_email ON nb_links (kind, email);
  CREATE INDEX nb_links_expiry ON nb_links (expires_at);`,
  FACTORS,
];
