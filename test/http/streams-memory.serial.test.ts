import { loadavg } from 'node:os';
import { describe, expect, it } from 'vitest';
import { measureStreams, type StreamAdapter, type StreamsResult } from '../../bench/streams.js';

/** 10,000 streams (+500 of sampled users) on one adapter, as streams-scale.serial.test.ts. */
async function measure(adapter: StreamAdapter): Promise<{ r: StreamsResult; report: string }> {
  const loadBefore = loadavg()[0]!;
  const r = await measureStreams({
    streams: 10_000,
    adapter,
    heartbeatMs: 5000,
    userSamples: 25,
    concurrency: 256,
  });
  const report = JSON.stringify({
    ...r,
    userLatencyMs: { ...r.userLatencyMs, samples: [] },
    loadAverage: [loadBefore, loadavg()[0]],
  });
  expect(r.openFailures, report).toBe(0);
  expect(r.opened, report).toBe(r.peak);
  expect(r.heartbeated, report).toBe(r.peak);
  expect(r.strayEvents, report).toBe(0);
  return { r, report };
}

// Memory per open stream on the other Node adapters (streams-scale.serial.test.ts holds
// Fastify to its bounds, timings included).
describe('event streams at scale: memory per stream', () => {
  it('hono on @hono/node-server holds 10,000 streams at ≤ 16 KiB each', async () => {
    const { r, report } = await measure('hono');
    expect(r.rssBytesPerStream, report).toBeLessThanOrEqual(16 * 1024);
  }, 180_000);

  // Express keeps state of its own per request, whatever the route does: a hidden class for
  // each request and response (its prototype swap, then new properties) and, once any header
  // was set before ours (X-Powered-By), every header as an object. Its RSS also carries the
  // old-space garbage of those classes: a bare Express 5 handler holding 10,000 responses
  // open measures about 16 KiB RSS. The bound is on what the adapter keeps: 12.3 KiB of heap
  // before the routers' closures were let go.
  it('express holds 10,000 streams at ≤ 10.5 KiB of heap each', async () => {
    const { r, report } = await measure('express');
    expect(r.heapBytesPerStream, report).toBeLessThanOrEqual(10.5 * 1024);
  }, 180_000);
});
