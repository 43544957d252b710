/**
 * The Lua scripts of the Redis feed. Each runs atomically on the server, so a stream entry
 * and its seq in the sorted set beside it, or a repair and its certificate, are written
 * together or not at all, and survive (or not) a restart together.
 */
/** Creates the stream from a snapshot only when it is missing, in one atomic step. */
export const SEED_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 1, #ARGV do redis.call('XADD', KEYS[1], '*', 'e', ARGV[i]) end
redis.call('XADD', KEYS[1], '*', 'seed', tostring(#ARGV))
return 1`;

/**
 * Appends to the stream only while it exists: a missing stream was lost (or never seeded),
 * and recreating it with one event would make it look complete to a verifier. The event's
 * log seq goes into a sorted set beside the stream (scored by the entry's time, trimmed with
 * it), which is how the outbox asks what the stream holds; one script, so both or neither
 * survive a restart.
 * KEYS: stream, seqs. ARGV: minId, minMs, json, seq ('' for none).
 */
export const PUBLISH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local id = redis.call('XADD', KEYS[1], 'MINID', ARGV[1], '*', 'e', ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[2], tonumber(string.match(id, '^(%d+)')), ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
end
return id`;

/** The server's run id: it changes on every restart, whatever was persisted. */
const RUN_ID = `(string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or '')`;

/** KEYS: stream, seqs. ARGV: seqs to look up. Returns run id, 'ok' | 'missing', then the absent seqs. */
export const MISSING_SCRIPT = `
local out = {${RUN_ID}}
if redis.call('EXISTS', KEYS[1]) == 0 then out[2] = 'missing' return out end
out[2] = 'ok'
if #ARGV == 0 then return out end
local scores = redis.call('ZMSCORE', KEYS[2], unpack(ARGV))
for i = 1, #ARGV do
  if not scores[i] then out[#out + 1] = ARGV[i] end
end
return out`;

/**
 * Appends the missing events and then the certificate, all in one step, and only while the
 * server is the run whose contents were checked and the stream exists.
 * KEYS: stream, seqs. ARGV: minId, minMs, run id, at, then json and seq pairs.
 */
export const CERTIFY_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if ${RUN_ID} ~= ARGV[3] then return 'epoch-changed' end
for i = 5, #ARGV, 2 do
  local id = redis.call('XADD', KEYS[1], 'MINID', ARGV[1], '*', 'e', ARGV[i])
  redis.call('ZADD', KEYS[2], tonumber(string.match(id, '^(%d+)')), ARGV[i + 1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
redis.call('XADD', KEYS[1], 'MINID', ARGV[1], '*', 'cp', ARGV[4])
return 'certified'`;

/** Seqs per MISSING_SCRIPT call, and events per CERTIFY_SCRIPT call (Lua's unpack limit). */
export const OUTBOX_CHUNK = 1000;
