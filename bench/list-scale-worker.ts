/**
 * Measures the revocation list at one size, in a fresh process (so the heap holds nothing
 * else), and prints one JSON line. Run with --expose-gc: `node --expose-gc
 * list-scale-worker.js <entries>`.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { systemClock } from '../src/clock.js';
import type { RevocationEvent } from '../src/revocation/events.js';
import { RevocationList } from '../src/revocation/list.js';
import { isEntryPoint } from './http-variants.js';

export interface ListScaleResult {
  entries: number;
  /** (heapUsed + arrayBuffers) growth per live entry; the ids are not retained. */
  listBytesPerEntry: number;
  /** What the list's own tables report. */
  tableBytesPerEntry: number;
  /** Map<string, number> holding the same ids: structure only (keys kept alive elsewhere). */
  mapBytesPerEntry: number;
  /** The same Map owning its key strings (as it would when fed by events). */
  mapWithKeysBytesPerEntry: number;
  /** One id hashed and probed (isSessionRevoked), half hits, half misses. */
  lookupNs: number;
  /** The same lookup with present ids only (a revoked session: the triple is read). */
  lookupHitNs: number;
  /** The same lookup with absent ids only (the usual answer: only tag bytes are read). */
  lookupMissNs: number;
  /** Map.get for the same ids. */
  mapLookupNs: number;
  /** A whole check(sub, sid, jti, iat) of a non-revoked token: 3 ids, 5 probes. */
  checkNs: number;
  /** checkKey with the ids hashed beforehand (what a verified-token cache can keep). */
  checkKeyNs: number;
  /** The fastest repetition of each timing (the others are medians). */
  best: { lookupNs: number; mapLookupNs: number; checkNs: number; checkKeyNs: number };
  /** applyAll of `entries` events into an empty list. */
  loadMs: number;
  /** fromSnapshot of the same entries. */
  snapshotLoadMs: number;
}

function gcFunction(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const gc = gcFunction();

function memory(): number {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function ids(count: number): string[] {
  const pool = randomBytes(count * 16);
  const out: string[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = pool.toString('base64url', i * 16, i * 16 + 16);
  return out;
}

/** [median, fastest] ns per iteration over 7 repetitions. */
function timeLoop(iterations: number, body: (i: number) => unknown): [number, number] {
  const samples: number[] = [];
  let sink: unknown;
  for (let rep = 0; rep < 7; rep++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink = body(i);
    samples.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  if (sink === Symbol.for('never')) console.log('');
  samples.sort((a, b) => a - b);
  return [samples[3]!, samples[0]!];
}

export function measure(entries: number, iterations: number): ListScaleResult {
  const clock = systemClock;
  const options = { clock, maxTokenLifetime: 900, clockSkew: 30 };
  const at = clock.now();

  // Memory: the ids stay alive throughout (referenced by `sids`), so each delta is only
  // the structure added; a Map would also own its key strings, measured here too.
  const m0 = memory();
  const sids = ids(entries);
  const m1 = memory();
  // The array itself holds one 8-byte reference per id.
  const stringBytes = (m1 - m0) / entries - 8;
  const list = new RevocationList(options);
  for (let i = 0; i < entries; i++) {
    list.apply({ kind: 'session', sid: sids[i]!, sub: 'u', at, cause: 'logout' });
  }
  const m2 = memory();
  const listBytesPerEntry = (m2 - m1) / entries;
  const tableBytesPerEntry = list.stats().bytes / entries;
  const ownedMap = new Map<string, number>();
  // Distinct times, as real revocations have (each a heap number, as in a real Map).
  for (let i = 0; i < entries; i++) ownedMap.set(sids[i]!, at + i);
  const mapBytesPerEntry = (memory() - m2) / entries;
  const mapWithKeysBytesPerEntry = mapBytesPerEntry + stringBytes;
  const probeHits = sids.slice(0, 2048);
  const mapProbeHits = probeHits;

  // Lookups: 4096 probe ids, half present.
  const misses = ids(2048);
  const probes = [...probeHits, ...misses];
  const mapProbes = [...mapProbeHits, ...misses];
  const mask = probes.length - 1;
  const [lookupNs, bestLookupNs] = timeLoop(iterations, (i) =>
    list.isSessionRevoked(probes[i & mask]!),
  );
  const [mapLookupNs, bestMapLookupNs] = timeLoop(iterations, (i) =>
    ownedMap.get(mapProbes[i & mask]!),
  );
  // Hits and misses apart, each over 4096 ids: what the mixed figure averages.
  const hitProbes = Array.from({ length: 4096 }, (_, k) => sids[(entries - 1 - k) % entries]!);
  const missProbes = ids(4096);
  const [lookupHitNs] = timeLoop(iterations, (i) => list.isSessionRevoked(hitProbes[i & 4095]!));
  const [lookupMissNs] = timeLoop(iterations, (i) => list.isSessionRevoked(missProbes[i & 4095]!));

  // Load: `entries` events over the four rules.
  const eventIds = sids;
  const events: RevocationEvent[] = new Array(entries);
  for (let i = 0; i < entries; i++) {
    const id = eventIds[i]!;
    switch (i % 4) {
      case 0:
        events[i] = { kind: 'session', sid: id, sub: 'u', at, cause: 'logout' };
        break;
      case 1:
        events[i] = { kind: 'token', jti: id, exp: at + 900_000, at };
        break;
      case 2:
        events[i] = { kind: 'user', sub: id, at, scope: 'sessions', cause: 'logout-all' };
        break;
      default:
        events[i] = { kind: 'user', sub: id, at, scope: 'tokens', cause: 'roles' };
    }
  }
  gc();
  const t0 = process.hrtime.bigint();
  const loaded = new RevocationList(options);
  loaded.applyAll(events);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const snapshot = loaded.snapshot();
  gc();
  const t1 = process.hrtime.bigint();
  const copy = RevocationList.fromSnapshot(snapshot, options);
  const snapshotLoadMs = Number(process.hrtime.bigint() - t1) / 1e6;
  if (copy.stats().total !== loaded.stats().total) throw new Error('snapshot lost entries');

  // The full check of tokens that are not revoked, against the four-rule list.
  const subs = ids(4096);
  const sidsProbe = ids(4096);
  const jtis = ids(4096);
  const [checkNs, bestCheckNs] = timeLoop(iterations, (i) =>
    loaded.check(subs[i & 4095]!, sidsProbe[i & 4095]!, jtis[i & 4095]!, at),
  );
  const revocationKeys = subs.map((sub, k) => loaded.revocationKey(sub, sidsProbe[k]!, jtis[k]!));
  const [checkKeyNs, bestCheckKeyNs] = timeLoop(iterations, (i) =>
    loaded.checkKey(revocationKeys[i & 4095]!, at),
  );
  return {
    entries,
    checkKeyNs,
    best: {
      lookupNs: bestLookupNs,
      mapLookupNs: bestMapLookupNs,
      checkNs: bestCheckNs,
      checkKeyNs: bestCheckKeyNs,
    },
    listBytesPerEntry,
    tableBytesPerEntry,
    mapBytesPerEntry,
    mapWithKeysBytesPerEntry,
    lookupNs,
    lookupHitNs,
    lookupMissNs,
    mapLookupNs,
    checkNs,
    loadMs,
    snapshotLoadMs,
  };
}

const entries = Number(process.argv[2]);
const iterations = Number(process.argv[3] ?? 1_000_000);
if (isEntryPoint(import.meta.url) && Number.isSafeInteger(entries) && entries > 0) {
  process.stdout.write(`${JSON.stringify(measure(entries, iterations))}\n`);
}
