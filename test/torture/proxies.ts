import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CutMode, LinkStatus } from './link-proxy.js';
import type { ProxyCommand } from './proxy-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = fileURLToPath(new URL('./proxy-process.ts', import.meta.url));

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

/** The harness's handle on the proxy process: one named link per process and service. */
export class Proxies {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: Reply) => void>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly ports: Record<string, number>,
  ) {
    child.on('message', (message: Reply) => {
      const resolve = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      resolve?.(message);
    });
    // Gone (killed with the terminal's process group, say): nothing waits for an answer.
    child.once('exit', () => {
      for (const [id, resolve] of this.waiting)
        resolve({ id, ok: false, error: 'the proxy process exited' });
      this.waiting.clear();
    });
  }

  static async start(links: Array<{ name: string; host: string; port: number }>): Promise<Proxies> {
    const child = fork(ENTRY, [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, TORTURE_LINKS: JSON.stringify(links) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ports = await new Promise<Record<string, number>>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the proxy process did not start in time'));
      }, 30_000);
      child.once('message', (message: { ready?: boolean; ports?: Record<string, number> }) => {
        clearTimeout(timer);
        if (message.ready === true && message.ports) resolve(message.ports);
        else reject(new Error('the proxy process sent no ports'));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the proxy process exited with ${code}`));
      });
    });
    return new Proxies(child, ports);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  port(link: string): number {
    const port = this.ports[link];
    if (port === undefined) throw new Error(`no link ${link}`);
    return port;
  }

  cut(link: string, mode: CutMode): Promise<unknown> {
    return this.send({ op: 'cut', link, mode });
  }

  delay(link: string, ms: number): Promise<unknown> {
    return this.send({ op: 'delay', link, ms });
  }

  restore(link: string): Promise<unknown> {
    return this.send({ op: 'restore', link });
  }

  restoreAll(): Promise<unknown> {
    return this.send({ op: 'restore-all' });
  }

  async status(): Promise<LinkStatus[]> {
    return (await this.send({ op: 'status' })) as LinkStatus[];
  }

  /** Kills the proxy process (every link closes with it). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }

  private send(command: Distribute<ProxyCommand>): Promise<unknown> {
    if (this.child.exitCode !== null || this.child.signalCode !== null)
      return Promise.reject(new Error('the proxy process exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`proxy command ${command.op} timed out`));
      }, 10_000);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.ok) resolve(reply.result);
        else reject(new Error(reply.error));
      });
      this.child.send({ ...command, id });
    });
  }
}
