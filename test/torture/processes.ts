import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { listeningUrl } from '../cluster/processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A process that exited without the harness asking it to. */
export interface ExitRecord {
  process: string;
  /** Run clock (ms). */
  at: number;
  wall: string;
  code: number | null;
  signal: string | null;
  /** The end of its output. */
  tail: string;
}
const TAIL_CHARS = 16_000;

/**
 * A TypeScript entry point of this repository run under tsx (like test/cluster's
 * runScript) that can be SIGKILLed and started again with the same arguments, so a
 * restarted `serve` comes back on the same port. Output goes to a log file of the run;
 * the last few KB stay in memory for evidence. An exit the harness did not cause is
 * counted and reported.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private tailText = '';
  private readonly log: WriteStream;
  private expectingExit = false;
  private starting = false;
  url = '';
  starts = 0;
  readonly unexpectedExits: ExitRecord[] = [];
  readonly pids = new Set<number>();

  constructor(
    readonly name: string,
    private readonly entry: string,
    private readonly args: string[],
    logPath: string,
    private readonly env: Record<string, string> = {},
    /** The run's clock (ms), for the time of an unexpected exit. */
    private readonly now: () => number = () => 0,
  ) {
    this.log = createWriteStream(logPath, { flags: 'a' });
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  tail(chars = 2000): string {
    return this.tailText.slice(-chars);
  }

  /** Starts the process and resolves with its URL once it prints "listening on …". */
  async start(timeoutMs = 45_000): Promise<string> {
    if (this.child) return this.url;
    this.starts += 1;
    this.log.write(`\n--- start #${this.starts} at ${new Date().toISOString()} ---\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', this.entry, ...this.args], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) this.pids.add(child.pid);
    this.child = child;
    this.expectingExit = false;
    this.starting = true;
    let out = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      this.log.write(text);
      this.tailText = (this.tailText + text).slice(-TAIL_CHARS);
      if (out.length < 100_000) out += text;
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        if (child.pid !== undefined) this.pids.delete(child.pid);
        if (this.child === child) this.child = undefined;
        // A failed start is reported by start() itself.
        if (!this.expectingExit && !this.starting)
          this.unexpectedExits.push({
            process: this.name,
            at: this.now(),
            wall: new Date().toISOString(),
            code,
            signal,
            tail: this.tail(3000),
          });
        resolve();
      }),
    );
    try {
      this.url = await listeningUrl(
        child,
        () => out,
        timeoutMs,
        this.name,
        () => this.tail(),
      );
    } catch (error) {
      this.expectingExit = true;
      await this.kill();
      throw error;
    } finally {
      this.starting = false;
    }
    return this.url;
  }

  /** SIGKILL: a crash, nothing flushed. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  closeLog(): Promise<void> {
    if (this.log.writableEnded) return Promise.resolve();
    return new Promise((resolve) => this.log.end(() => resolve()));
  }
}
