/**
 * The browser bundle stays small and self-contained, and the pure parts of the client
 * (when to refresh, how to name a device) do what they say.
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { describeDevice } from '../../src/client/device.js';
import { refreshDelay } from '../../src/client/schedule.js';
import { ROOT } from './harness.js';

describe('notbefore/client bundle', () => {
  it('is one dependency-free module under 5 KB minified and gzipped', async () => {
    const result = await build({
      entryPoints: [join(ROOT, 'src/client/index.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.text;
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.every((file) => file.startsWith('src/client/'))).toBe(true);
    expect(code).not.toMatch(/\bimport\s*[("'{*]/); // nothing left to load
    expect(code).not.toMatch(/\batob\b|\bsplit\("\."\)/); // no JWT decoding (ASVS 7.2.1)
    expect(gzipSync(code, { level: 9 }).length).toBeLessThan(5_000);
  });
});

describe('refreshDelay', () => {
  it('refreshes a quarter of the life early, at most a minute, minus up to 10% jitter', () => {
    const now = 1_000_000;
    expect(refreshDelay(now + 900_000, now, 0)).toBe(840_000); // 15 min token: a minute early
    expect(refreshDelay(now + 900_000, now, 1)).toBe(835_000); // jitter capped at 5 s
    expect(refreshDelay(now + 10_000, now, 0)).toBe(7_500);
    expect(refreshDelay(now + 10_000, now, 1)).toBe(6_500);
  });

  it('is immediate for a token that has already expired', () => {
    expect(refreshDelay(500, 1_000, 0.5)).toBe(0);
    expect(refreshDelay(1_000, 1_000, 0.5)).toBe(0);
  });
});

describe('describeDevice', () => {
  it.each([
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
      'Chrome on macOS',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
      'Safari on iOS',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0',
      'Firefox on Windows',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
      'Edge on Windows',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
      'Chrome on Android',
    ],
    ['curl/8.5.0', 'Unknown device'],
  ])('%s → %s', (ua, label) => {
    expect(describeDevice(ua)).toBe(label);
  });
});
