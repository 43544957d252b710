/**
 * The PostgreSQL schema: its migrations, applied in order under an advisory lock (so
 * several instances may start at once), and the advisory-lock names the store uses.
 */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
export const MIGRATION_LOCK = 'notbefore:migrate';
/** Serialises appends to the log, so seq order is commit order (see appendLog). */
export const LOG_LOCK = 'notbefore:revocation-log';
export const RETRYABLE = new Set(['40001', '40P01']);
export const MAX_ATTEMPTS = 5;

export const migrations = (s: string): string[] => [
  `CREATE TABLE IF NOT EXISTS ${s}.nb_users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    tokens_valid_after BIGINT NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS ${s}.nb_sessions (
    sid TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device TEXT,
    client_key TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    auth_time BIGINT NOT NULL,
    last_issued_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoke_cause TEXT
  );
  CREATE INDEX IF NOT EXISTS nb_sessions_user ON ${s}.nb_sessions (user_id, created_at);
  CREATE TABLE IF NOT EXISTS ${s}.nb_refresh_tokens (
    hash TEXT PRIMARY KEY,
    sid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    rotated_at BIGINT
  );
  CREATE INDEX IF NOT EXISTS nb_refresh_tokens_sid ON ${s}.nb_refresh_tokens (sid);
  CREATE TABLE IF NOT EXISTS ${s}.nb_revocations (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    live_from BIGINT NOT NULL,
    event TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS nb_revocations_live ON ${s}.nb_revocations (live_from);
  CREATE TABLE IF NOT EXISTS ${s}.nb_failures (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    last_at BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS ${s}.nb_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS ${s}.nb_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL);`,
  // 0.3.0: second factors. `amr` NULL in an older session row means ["pwd"] (rows.ts).
  `ALTER TABLE ${s}.nb_sessions ADD COLUMN IF NOT EXISTS amr TEXT;
  CREATE TABLE IF NOT EXISTS ${s}.nb_totp (
    user_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS ${s}.nb_recovery_codes (
    user_id TEXT NOT NULL,
    hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, hash)
  );
  CREATE TABLE IF NOT EXISTS ${s}.nb_passkeys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    counter BIGINT NOT NULL,
    transports TEXT,
    device_type TEXT,
    backed_up BOOLEAN NOT NULL DEFAULT FALSE,
    name TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
  );
  CREATE INDEX IF NOT EXISTS nb_passkeys_user ON ${s}.nb_passkeys (user_id);
  CREATE TABLE IF NOT EXISTS ${s}.nb_challenges (
    challenge TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT,
    sid TEXT,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS nb_challenges_expiry ON ${s}.nb_challenges (expires_at);`,
];
