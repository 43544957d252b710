/**
 * Side-by-side timing: every peer of a scenario runs in the same process, interleaved
 * round by round (the order rotates each round), and the report keeps the median of the
 * rounds. A single batch is never reported on its own: the machine is shared, and noise
 * hits all peers of a round alike.
 */

export interface Peer {
  name: string;
  /** One operation on input `i` (the peer picks its token from i); may be async. */
  op(i: number): unknown;
  async?: boolean;
  /** Shown in the tables (configuration worth knowing). */
  note?: string;
}

export interface PeerResult {
  name: string;
  note?: string;
  /** Median over rounds of ns per operation. */
  nsPerOp: number;
  opsPerSec: number;
  /** Fastest and slowest round, ns/op. */
  minNs: number;
  maxNs: number;
  rounds: number;
  opsTotal: number;
}

export interface ScenarioResult {
  id: string;
  title: string;
  peers: PeerResult[];
}

export interface RunOptions {
  rounds: number;
  /** Wall time of one batch of one peer, ms. */
  batchMs: number;
  /** Warm-up per peer before the first round, ms. */
  warmupMs: number;
}

/** Written by every batch so no operation's result is dead code. */
let sink: unknown;
export function blackhole(): unknown {
  return sink;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function batch(peer: Peer, start: number, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  if (peer.async === true) {
    for (let i = 0; i < n; i++) sink = await peer.op(start + i);
  } else {
    for (let i = 0; i < n; i++) sink = peer.op(start + i);
  }
  return Number(process.hrtime.bigint() - t0);
}

/** Runs a peer for about `ms` and returns its rate, to size its batches. */
async function calibrate(peer: Peer, ms: number, cursor: { i: number }): Promise<number> {
  let n = 1;
  let spent = 0;
  let done = 0;
  const deadline = ms * 1e6;
  while (spent < deadline) {
    const ns = await batch(peer, cursor.i, n);
    cursor.i += n;
    spent += ns;
    done += n;
    if (ns < deadline / 8) n *= 2;
  }
  return spent / done;
}

export async function runScenario(
  id: string,
  title: string,
  peers: readonly Peer[],
  options: RunOptions,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const cursors = peers.map(() => ({ i: 0 }));
  const sizes: number[] = [];
  for (const [k, peer] of peers.entries()) {
    const ns = await calibrate(peer, options.warmupMs, cursors[k]!);
    sizes.push(Math.max(1, Math.round((options.batchMs * 1e6) / ns)));
  }
  const samples: number[][] = peers.map(() => []);
  const totals = peers.map(() => 0);
  for (let round = 0; round < options.rounds; round++) {
    for (let step = 0; step < peers.length; step++) {
      const k = (step + round) % peers.length;
      const n = sizes[k]!;
      const ns = await batch(peers[k]!, cursors[k]!.i, n);
      cursors[k]!.i += n;
      samples[k]!.push(ns / n);
      totals[k]! += n;
    }
  }
  const results = peers.map((peer, k): PeerResult => {
    const nsPerOp = median(samples[k]!);
    const result: PeerResult = {
      name: peer.name,
      nsPerOp,
      opsPerSec: 1e9 / nsPerOp,
      minNs: Math.min(...samples[k]!),
      maxNs: Math.max(...samples[k]!),
      rounds: options.rounds,
      opsTotal: totals[k]!,
    };
    if (peer.note !== undefined) result.note = peer.note;
    return result;
  });
  log(`  ${title}`);
  for (const r of results) {
    log(
      `    ${r.name.padEnd(40)} ${formatNs(r.nsPerOp).padStart(10)}/op ${formatRate(r.opsPerSec).padStart(12)}/s`,
    );
  }
  return { id, title, peers: results };
}

export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a';
  if (ns < 1000) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return 'n/a';
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)} M`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)} k`;
  return perSec.toFixed(0);
}
