// The CLI as a user runs it: a child process, its output, its exit code.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
const DIST = join(ROOT, 'dist/cli/main.js');
/** The built CLI when `npm run build` has run (npm test does), else the sources via tsx. */
const ENTRY = existsSync(DIST) ? [DIST] : ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')];

export interface Run {
  child: ChildProcess;
  /** stdout and stderr as they arrived, interleaved. */
  out: () => string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [...ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, NOTBEFORE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    text += d.toString();
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    text += d.toString();
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => text, stdout: () => stdout, stderr: () => stderr, exited };
}

export async function listening(r: Run, timeoutMs = 45_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const match = /notbefore listening on (http:\/\/\S+)/.exec(r.out());
    if (match?.[1] !== undefined) return match[1];
    if (r.child.exitCode !== null) throw new Error(`exited: ${r.out()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no URL printed: ${r.out()}`);
}

/** Waits until the output matches `pattern`; resolves the first capture group. */
export async function waitForOutput(r: Run, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const match = pattern.exec(r.out());
    if (match !== null) return match[1] ?? match[0];
    if (r.child.exitCode !== null) throw new Error(`exited: ${r.out()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${pattern} in: ${r.out()}`);
}
