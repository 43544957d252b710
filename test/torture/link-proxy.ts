import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * How a cut link treats new connections: `refuse` closes them at once (the process sees a
 * reset and retries), `blackhole` accepts and then never forwards a byte (the process waits
 * for its own timeouts), like a partition that drops packets.
 */
export type CutMode = 'refuse' | 'blackhole';

export interface LinkStatus {
  name: string;
  port: number;
  cut: CutMode | null;
  delayMs: number;
  open: number;
  accepted: number;
}

/**
 * One process's TCP link to one service (PostgreSQL or Redis), on 127.0.0.1. It forwards
 * both ways and can cut the link (closing every open connection), add latency to the
 * service's replies, and restore it. Replies stay in order under a changing delay.
 */
export class LinkProxy {
  private server: Server | undefined;
  private readonly open = new Set<Socket>();
  private readonly held = new Set<Socket>();
  private cutMode: CutMode | null = null;
  private delayMs = 0;
  private accepted = 0;
  port = 0;

  constructor(
    readonly name: string,
    private readonly target: { host: string; port: number },
  ) {}

  async listen(port = 0): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    return this.port;
  }

  /** Closes every connection of the link now; new ones are refused or blackholed. */
  cut(mode: CutMode): void {
    this.cutMode = mode;
    for (const socket of [...this.open]) socket.destroy();
    this.open.clear();
  }

  /** From now on, each reply from the service reaches the process `ms` later. */
  delay(ms: number): void {
    this.delayMs = Math.max(0, ms);
  }

  /** Forwards again without delay; blackholed connections are closed so their owners retry. */
  restore(): void {
    this.cutMode = null;
    this.delayMs = 0;
    for (const socket of [...this.held]) socket.destroy();
    this.held.clear();
  }

  status(): LinkStatus {
    return {
      name: this.name,
      port: this.port,
      cut: this.cutMode,
      delayMs: this.delayMs,
      open: this.open.size,
      accepted: this.accepted,
    };
  }

  async close(): Promise<void> {
    this.cut('refuse');
    this.restore();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    this.accepted += 1;
    if (this.cutMode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.cutMode === 'blackhole') {
      client.pause();
      this.held.add(client);
      client.once('close', () => this.held.delete(client));
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    upstream.on('error', () => {});
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    this.open.add(client);
    this.open.add(upstream);
    // Replies wait in one queue per connection, each released at its due time, so a
    // delay that changes midway never reorders bytes. `null` marks the service's close.
    const pending: Array<{ at: number; chunk: Buffer | null }> = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      timer = undefined;
      const now = performance.now();
      while (pending.length > 0 && (pending[0]?.at ?? 0) <= now) {
        const { chunk } = pending.shift()!;
        if (chunk === null) {
          client.end();
          pending.length = 0;
          return;
        }
        if (!client.destroyed) client.write(chunk);
      }
      const head = pending[0];
      if (head !== undefined) timer = setTimeout(pump, Math.max(0, head.at - now));
    };
    const push = (chunk: Buffer | null) => {
      const last = pending[pending.length - 1]?.at ?? 0;
      pending.push({ at: Math.max(performance.now() + this.delayMs, last), chunk });
      if (timer === undefined) pump();
    };
    client.on('data', (chunk: Buffer) => {
      if (!upstream.destroyed) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => push(chunk));
    upstream.once('close', () => {
      this.open.delete(upstream);
      push(null);
    });
    client.once('close', () => {
      this.open.delete(client);
      if (timer !== undefined) clearTimeout(timer);
      pending.length = 0;
      upstream.destroy();
    });
  }
}
