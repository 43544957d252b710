import { describe, expect, it } from 'vitest';
import { FAULT_KINDS } from './history.js';
import { formatReport } from './report.js';
import { hasRedisServer, runTorture } from './torture.js';

/**
 * A short torture run (see run.ts for long ones): three `notbefore serve` on PostgreSQL
 * and a Redis of the run's own plus a verify-only process, every database and Redis link
 * through the harness's proxies; 20 clients, guessers and an admin for 25 s while the
 * nemesis cuts and delays links, restarts Redis with and without its data and kills
 * instances. The checker must find nothing, and every fault kind must have been injected.
 * TORTURE_SEED picks another seed; the report prints the one to reproduce a failure with.
 */
const SECONDS = 25;

describe.skipIf(!hasRedisServer)('torture: faults against real processes, history checked', () => {
  it(`${SECONDS} s of faults: no violation, every fault kind injected`, async () => {
    const lines: string[] = [];
    const report = await runTorture({
      seconds: SECONDS,
      seed: process.env.TORTURE_SEED ?? '20251201',
      clients: 20,
      log: (line) => lines.push(line),
    });
    const text = formatReport(report);
    console.log(text);
    for (const kind of FAULT_KINDS) expect(report.faults[kind]?.count, kind).toBeGreaterThan(0);
    expect(report.operationsByPhase.run ?? 0).toBeGreaterThan(1000);
    expect(report.violations.total, text).toBe(0);
  }, 300_000);
});
