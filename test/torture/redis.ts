import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, untilServing } from '../cluster/redis-server.js';

/**
 * The run's own redis-server on a free port, with an append-only file fsynced on every
 * write in a directory of the run: killed and started again it keeps the stream; with the
 * directory wiped in between it comes back empty (the lost-stream case). The shared Redis
 * on 6379 is never touched.
 */
export class TortureRedis {
  private child: ChildProcess | undefined;
  /** Every process this object started, for a last-resort synchronous kill. */
  readonly pids = new Set<number>();

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(dir: string): Promise<TortureRedis> {
    mkdirSync(dir, { recursive: true });
    const redis = new TortureRedis(await freePort(), dir);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--logfile',
        join(this.dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    if (child.pid !== undefined) this.pids.add(child.pid);
    child.once('exit', () => {
      if (child.pid !== undefined) this.pids.delete(child.pid);
    });
    this.child = child;
    try {
      await untilServing(child, this.port, 15_000);
    } catch (error) {
      if (child.exitCode !== null) this.child = undefined;
      throw error;
    }
  }

  /** SIGKILL: nothing flushed beyond what the fsynced append-only file already holds. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Deletes the data (only while stopped): the next start is an empty Redis. */
  wipe(): void {
    if (this.child) throw new Error('wipe a running redis-server');
    rmSync(join(this.dir, 'appendonlydir'), { recursive: true, force: true });
    rmSync(join(this.dir, 'dump.rdb'), { force: true });
  }
}
