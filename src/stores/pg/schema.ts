/**
 * The PostgreSQL schema: its migrations, applied in order under an advisory lock (so
 * several instances may start at once), and the advisory-lock names the store uses.
 */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
export const MIGRATION_LOCK = 'notbefore:migrate';
/** Serialises appends to the log, so seq order is commit order (see appendLog). */
export const LOG_LOCK = 'notbefore:revocation-log';
/** The trigger (and its function) that notifies postgresFeed of each new log entry. */
export const NOTIFY_TRIGGER = 'nb_revocations_notify';
/**
 * The NOTIFY channel of one schema's revocation log. Channel names stop at 63 bytes: two
 * long schema names that share a prefix then share a channel, which costs their feeds only
 * a spare read each (a woken feed reads its own table).
 */
export const revocationChannel = (s: string): string => `notbefore_${s}`.slice(0, 63);
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
  // 0.3.0: account lifecycle. Accounts made before it count as unverified.
  `ALTER TABLE ${s}.nb_users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
  CREATE TABLE ${s}.nb_links (
    token_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    user_id TEXT,
    email TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
  );
  CREATE INDEX nb_links_user ON ${s}.nb_links (kind, user_id);
  CREATE INDEX nb_links_email ON ${s}.nb_links (kind, email);
  CREATE INDEX nb_links_expiry ON ${s}.nb_links (expires_at);`,
  // Refresh rotation in one round trip (issue 14): rotateRefresh in pg/writes.ts, step for
  // step — the same locks in the same order (user → session → token → log), each statement
  // on a fresh snapshot as in a READ COMMITTED transaction, and the rules of rules.ts
  // (issueAt, refreshStep, idleEndAfterUse, sessionEnded). The log lock is taken last and
  // held to the commit, so seq order stays commit order. Change it by a new migration.
  `CREATE OR REPLACE FUNCTION ${s}.nb_rotate_refresh(
    p_presented TEXT, p_successor TEXT, p_now BIGINT, p_grace DOUBLE PRECISION, p_idle_ttl BIGINT,
    OUT o_kind TEXT, OUT o_issued_at BIGINT, OUT o_seq BIGINT, OUT o_event TEXT,
    OUT o_session JSON, OUT o_user JSON)
  LANGUAGE plpgsql VOLATILE AS $fn$
  DECLARE
    v_sid TEXT;
    v_user_id TEXT;
    v_disabled BOOLEAN;
    v_valid_after BIGINT;
    v_global BIGINT;
    v_session RECORD;
    v_token RECORD;
    v_step TEXT;
    v_cause TEXT;
    v_at BIGINT;
  BEGIN
    o_kind := 'invalid';
    SELECT s.user_id, s.sid INTO v_user_id, v_sid
      FROM ${s}.nb_refresh_tokens r JOIN ${s}.nb_sessions s ON s.sid = r.sid
      WHERE r.hash = p_presented;
    IF NOT FOUND THEN RETURN; END IF;
    SELECT row_to_json(u), u.id, u.disabled, u.tokens_valid_after,
        (SELECT m.value FROM ${s}.nb_meta m WHERE m.name = 'global_valid_after')
      INTO o_user, v_user_id, v_disabled, v_valid_after, v_global
      FROM ${s}.nb_users u WHERE u.id = v_user_id FOR SHARE OF u;
    IF NOT FOUND OR v_disabled THEN RETURN; END IF;
    SELECT * INTO v_session FROM ${s}.nb_sessions s WHERE s.sid = v_sid FOR UPDATE;
    IF NOT FOUND OR v_session.revoked_at IS NOT NULL OR v_session.user_id <> v_user_id THEN
      RETURN;
    END IF;
    SELECT * INTO v_token FROM ${s}.nb_refresh_tokens r WHERE r.hash = p_presented FOR UPDATE;
    IF NOT FOUND OR v_token.sid <> v_session.sid THEN RETURN; END IF;
    o_issued_at := GREATEST(p_now, v_valid_after, COALESCE(v_global, 0));
    IF p_now >= v_session.idle_expires_at
        OR floor(v_session.absolute_expires_at::NUMERIC / 1000) * 1000 <= o_issued_at THEN
      v_step := 'expired';
    ELSIF v_token.rotated_at IS NULL THEN
      v_step := 'rotated';
    ELSIF p_now - v_token.rotated_at <= p_grace THEN
      v_step := 'grace';
    ELSE
      v_step := 'reused';
    END IF;
    IF v_step IN ('expired', 'reused') THEN
      v_cause := CASE v_step WHEN 'expired' THEN 'expired' ELSE 'reuse' END;
      UPDATE ${s}.nb_sessions SET revoked_at = p_now, revoke_cause = v_cause
        WHERE sid = v_session.sid;
      DELETE FROM ${s}.nb_refresh_tokens WHERE sid = v_session.sid;
      v_at := GREATEST(p_now, v_session.last_issued_at);
      -- The text JSON.stringify writes for the same event (key order kept).
      o_event := '{"kind":"session","sid":' || to_json(v_session.sid)::TEXT
        || ',"sub":' || to_json(v_session.user_id)::TEXT || ',"at":' || v_at
        || ',"cause":' || to_json(v_cause)::TEXT || '}';
      PERFORM pg_advisory_xact_lock(hashtext('${LOG_LOCK}'));
      INSERT INTO ${s}.nb_revocations (kind, at, live_from, event)
        VALUES ('session', v_at, v_at, o_event) RETURNING seq INTO o_seq;
      o_kind := v_step;
      RETURN;
    END IF;
    IF v_step = 'grace' THEN
      PERFORM 1 FROM ${s}.nb_refresh_tokens r
        WHERE r.hash = p_successor AND r.sid = v_session.sid;
      IF NOT FOUND THEN RETURN; END IF;
    END IF;
    -- The session's touch, and for a rotation the token's two writes in the same statement
    -- (the rows are locked already; one statement costs less than three).
    WITH rotated AS (
        UPDATE ${s}.nb_refresh_tokens SET rotated_at = p_now
        WHERE v_step = 'rotated' AND hash = p_presented),
      successor AS (
        INSERT INTO ${s}.nb_refresh_tokens (hash, sid, created_at)
        SELECT p_successor, v_session.sid, p_now WHERE v_step = 'rotated')
    UPDATE ${s}.nb_sessions s SET last_seen_at = p_now,
        idle_expires_at = LEAST(p_now + p_idle_ttl, v_session.absolute_expires_at),
        last_issued_at = GREATEST(s.last_issued_at, o_issued_at)
      WHERE s.sid = v_session.sid RETURNING row_to_json(s) INTO o_session;
    o_kind := v_step;
  END
  $fn$;`,
  // 0.3.0: postgresFeed. Each log entry notifies at commit (NOTIFY is delivered only if,
  // and as soon as, the transaction commits): a committed revocation reaches every
  // listener even when its writer dies right after the commit. The payload is the seq and
  // the server's time of the insert (ms), for the feed's lag metric.
  `CREATE OR REPLACE FUNCTION ${s}.${NOTIFY_TRIGGER}() RETURNS trigger
  LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM pg_notify('${revocationChannel(s)}',
      NEW.seq || ' ' || floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    RETURN NULL;
  END
  $fn$;
  DROP TRIGGER IF EXISTS ${NOTIFY_TRIGGER} ON ${s}.nb_revocations;
  CREATE TRIGGER ${NOTIFY_TRIGGER} AFTER INSERT ON ${s}.nb_revocations
    FOR EACH ROW EXECUTE PROCEDURE ${s}.${NOTIFY_TRIGGER}();`,
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
