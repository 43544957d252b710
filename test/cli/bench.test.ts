import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runAll } from '../../bench/run.js';

// The benchmarks run from the checkout (`npm run bench`); here with no suite selected, so
// only what a run writes is exercised.
describe('bench results', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const run = (quick: boolean, outDir: string) =>
    runAll({ quick, outDir, suites: new Set(), log: () => {} });

  it('a quick run writes quick.* only and leaves the committed full results alone', async () => {
    dir = await mkdtemp(join(tmpdir(), 'notbefore-bench-'));
    for (const name of ['latest', 'full']) {
      await writeFile(join(dir, `${name}.json`), 'committed');
    }
    const { results, failed } = await run(true, dir);
    expect(results.meta.mode).toBe('quick');
    expect(failed).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual([
      'full.json',
      'latest.json',
      'quick.json',
      'quick.md',
      'quick.svg',
    ]);
    expect(await readFile(join(dir, 'latest.json'), 'utf8')).toBe('committed');
    expect(await readFile(join(dir, 'full.json'), 'utf8')).toBe('committed');
  });

  it('a full run writes full.* and latest.*', async () => {
    dir = await mkdtemp(join(tmpdir(), 'notbefore-bench-'));
    await run(false, dir);
    expect((await readdir(dir)).sort()).toEqual([
      'full.json',
      'full.md',
      'full.svg',
      'latest.json',
      'latest.md',
      'latest.svg',
    ]);
  });
});
