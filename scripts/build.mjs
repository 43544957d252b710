#!/usr/bin/env node
// Builds dist/ (tsc, no source maps) and the browser bundle, then removes outputs whose
// source is gone (a moved or deleted module must not ship from an old build).
// Usage: node scripts/build.mjs [--if-stale]
//   --if-stale  build only when a source, tsconfig or build script changed since the last
//               build (what `npm start` runs, so a start with nothing changed costs no build)
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const src = join(root, 'src');
// In node_modules, so `npm ci` (which empties it) always leads to a fresh build.
const stamp = join(root, 'node_modules/.cache/notbefore/build-stamp');
const inputs = [
  'src',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts/build.mjs',
  'scripts/build-client.mjs',
].map((p) => join(root, p));
const outputs = [join(dist, 'cli/main.js'), join(root, 'web/notbefore-client.js')];

/** Newest mtime under `path`, directories included: their mtime moves when an entry is added, removed or renamed. */
function newest(path) {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return 0;
  }
  let latest = stat.mtimeMs;
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

function isStale() {
  if (!outputs.every((file) => existsSync(file))) return true;
  const built = existsSync(stamp) ? lstatSync(stamp).mtimeMs : 0;
  return Math.max(...inputs.map(newest)) > built;
}

function run(args) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** Deletes dist files with no source under src/ (and any source map), then empty folders. */
function prune(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      prune(path);
      if (readdirSync(path).length === 0) rmdirSync(path);
      continue;
    }
    const base = relative(dist, path).replace(/(\.d\.ts|\.js|\.js\.map|\.d\.ts\.map)$/, '');
    if (path.endsWith('.map') || !existsSync(join(src, `${base}.ts`))) unlinkSync(path);
  }
}

if (process.argv.includes('--if-stale') && !isStale()) process.exit(0);

const started = Date.now();
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
run([tsc, '-p', 'tsconfig.build.json']);
prune(dist);
run([join(root, 'scripts/build-client.mjs')]);
// Stamped with the start time: a source saved while tsc ran makes the next start rebuild.
mkdirSync(dirname(stamp), { recursive: true });
writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
utimesSync(stamp, started / 1000, started / 1000);
