import type { RevocationEvent } from '../revocation/events.js';

/** One stream entry: an event, or a marker (`event: null`) such as the end of a seed. */
export interface StreamEntry {
  id: string;
  event: RevocationEvent | null;
  /** A certificate (`cp` field): every revocation logged before this time (ms) precedes it. */
  checkpoint?: number;
}

export interface StreamInfo {
  lastGeneratedId: string;
  firstEntryId: string | null;
}

/** Orders two stream ids (`ms-seq`): negative, zero or positive. */
export function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = splitId(a);
  const [bMs, bSeq] = splitId(b);
  return aMs === bMs ? aSeq - bSeq : aMs - bMs;
}

/** The Redis server time (ms) at which an entry was added. */
export function idTime(id: string): number {
  return splitId(id)[0];
}

function splitId(id: string): [number, number] {
  const dash = id.indexOf('-');
  if (dash < 0) return [Number(id), 0];
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/** `run_id` from the text of `INFO server`. */
export function parseRunId(reply: unknown): string | undefined {
  const text = typeof reply === 'string' ? reply : Buffer.isBuffer(reply) ? reply.toString() : '';
  return /^run_id:([0-9a-f]+)/m.exec(text)?.[1];
}

/** The fields of `XINFO STREAM` this feed needs (a flat name/value list in RESP2). */
export function parseStreamInfo(reply: unknown): StreamInfo {
  const fields = asFlatMap(reply);
  const lastGenerated = fields.get('last-generated-id');
  const first = fields.get('first-entry');
  return {
    lastGeneratedId: typeof lastGenerated === 'string' ? lastGenerated : '0-0',
    firstEntryId: Array.isArray(first) && typeof first[0] === 'string' ? first[0] : null,
  };
}

/**
 * Entries of an `XREAD` reply for one stream: `[[key, [[id, [field, value, …]], …]]]` in
 * RESP2, `[key, [...]]` in RESP3 mapped to legacy arrays, `null` on timeout.
 */
export function decodeEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const stream: unknown = Array.isArray(reply[0]) ? reply[0] : reply;
  if (!Array.isArray(stream)) return [];
  const items: unknown = stream[1];
  if (!Array.isArray(items)) return [];
  const entries: StreamEntry[] = [];
  for (const item of items) {
    if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
    const checkpoint = decodeCheckpoint(item[1]);
    entries.push(
      checkpoint === undefined
        ? { id: item[0], event: decodeFields(item[1]) }
        : { id: item[0], event: null, checkpoint },
    );
  }
  return entries;
}

function decodeCheckpoint(fields: unknown): number | undefined {
  if (!Array.isArray(fields) || fields[0] !== 'cp' || typeof fields[1] !== 'string')
    return undefined;
  const at = Number(fields[1]);
  return Number.isFinite(at) && at > 0 ? at : undefined;
}

function decodeFields(fields: unknown): RevocationEvent | null {
  if (!Array.isArray(fields)) return null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'e') continue;
    const value: unknown = fields[i + 1];
    if (typeof value !== 'string') return null;
    return parseEvent(value);
  }
  return null;
}

const KINDS = new Set(['global', 'user', 'session', 'token']);

/**
 * Anyone who can write to the stream can put anything in it; an entry that is not a
 * well-formed event is skipped rather than crashing the tail.
 */
function parseEvent(json: string): RevocationEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  if (typeof record.kind !== 'string' || !KINDS.has(record.kind)) return null;
  if (typeof record.at !== 'number' || !Number.isFinite(record.at)) return null;
  switch (record.kind) {
    case 'global':
      return value as RevocationEvent;
    case 'user':
      return typeof record.sub === 'string' ? (value as RevocationEvent) : null;
    case 'session':
      return typeof record.sid === 'string' ? (value as RevocationEvent) : null;
    default:
      return typeof record.jti === 'string' && typeof record.exp === 'number'
        ? (value as RevocationEvent)
        : null;
  }
}

function asFlatMap(reply: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (!Array.isArray(reply)) return map;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const name: unknown = reply[i];
    if (typeof name === 'string') map.set(name, reply[i + 1]);
  }
  return map;
}
