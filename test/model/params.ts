import type fc from 'fast-check';

/**
 * fast-check settings shared by the model tests: a fixed seed so a run is reproducible and
 * CI sees the same sequences every time; FC_SEED / FC_RUNS override them to explore further
 * (`FC_SEED=$RANDOM FC_RUNS=2000 npx vitest run test/model`). On a failure fast-check prints
 * the seed, the path and the shrunk command list; pass `FC_PATH` with the same seed to
 * replay exactly that counterexample.
 */
export function modelParams(defaultSeed: number, defaultRuns: number): fc.Parameters<unknown> {
  const seed = readInt('FC_SEED') ?? defaultSeed;
  const numRuns = readInt('FC_RUNS') ?? defaultRuns;
  const path = process.env.FC_PATH;
  return path === undefined || path === '' ? { seed, numRuns } : { seed, numRuns, path };
}

function readInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${raw}`);
  return value;
}

/** A small deterministic PRNG (mulberry32) for shuffles a command carries as one seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Which reasons a check may return, given the rules that must fire and those that may. */
export const REASON_ORDER = ['global', 'user', 'session', 'token', 'claims'] as const;
export type Reason = (typeof REASON_ORDER)[number];

/**
 * The answers compatible with `must` (rules whose entries must still be held) and `may`
 * (rules whose entries the list is allowed to have forgotten): the strongest rule of
 * `must` plus any subset of `may`, by the precedence global > user > session > token > claims.
 */
export function allowedReasons(
  must: ReadonlySet<Reason>,
  may: ReadonlySet<Reason>,
): (Reason | null)[] {
  const best = REASON_ORDER.find((r) => must.has(r));
  if (best === undefined) return [null, ...REASON_ORDER.filter((r) => may.has(r))];
  const rank = REASON_ORDER.indexOf(best);
  return [best, ...REASON_ORDER.filter((r, k) => k < rank && may.has(r) && !must.has(r))];
}
