import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeStore } from '../../src/stores/conformance.js';
import { sqliteStore } from '../../src/stores/sqlite.js';

describeStore('sqlite :memory:', () => sqliteStore(':memory:'));

const dir = mkdtempSync(join(tmpdir(), 'notbefore-sqlite-'));
let n = 0;
describeStore('sqlite file (WAL)', () => sqliteStore(join(dir, `store-${n++}.db`)));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('two stores on one file share state (WAL mode)', async () => {
  const file = join(dir, 'shared.db');
  const a = sqliteStore(file);
  const b = sqliteStore(file);
  expect(await a.getOrCreateSecret('k', 'from-a')).toBe('from-a');
  expect(await b.getOrCreateSecret('k', 'from-b')).toBe('from-a');
  await Promise.all([a.close(), b.close()]);
});
