import { defineConfig } from 'vitest/config';

/**
 * The tests that measure latency at scale (10,000 event streams) run alone, after the rest:
 * their bounds are about this machine's speed, which a parallel run of other files takes.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.serial.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
  },
});
