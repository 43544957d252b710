import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ListScaleResult } from './list-scale-worker.js';

/** The worker next to this file: .ts under tsx, .js once built. */
export function siblingScript(name: string): string {
  const self = fileURLToPath(import.meta.url);
  const ext = self.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./${name}${ext}`, import.meta.url));
}

/** Node flags for a child running one of our scripts (keeps tsx's loader under tsx). */
export function childExecArgv(): string[] {
  return process.execArgv.filter((flag) => !flag.startsWith('--inspect'));
}

function runWorker(entries: number, iterations: number): Promise<ListScaleResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...childExecArgv(),
        '--expose-gc',
        siblingScript('list-scale-worker'),
        String(entries),
        String(iterations),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`list-scale worker exited with ${code}`));
        return;
      }
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as ListScaleResult);
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Each size in its own fresh process, so the heap measured holds only the list. */
export async function listScaleSuite(
  sizes: readonly number[],
  iterations: number,
  log: (line: string) => void,
): Promise<ListScaleResult[]> {
  const results: ListScaleResult[] = [];
  for (const entries of sizes) {
    const r = await runWorker(entries, iterations);
    log(
      `  ${entries.toLocaleString('en').padStart(9)} entries: ${r.listBytesPerEntry.toFixed(1)} B/entry ` +
        `(Map ${r.mapWithKeysBytesPerEntry.toFixed(1)}), lookup ${r.lookupNs.toFixed(0)} ns ` +
        `(hit ${r.lookupHitNs.toFixed(0)}, miss ${r.lookupMissNs.toFixed(0)}) ` +
        `(Map ${r.mapLookupNs.toFixed(0)}), check ${r.checkNs.toFixed(0)} ns, ` +
        `checkKey ${r.checkKeyNs.toFixed(0)} ns, load ${r.loadMs.toFixed(0)} ms`,
    );
    results.push(r);
  }
  return results;
}
