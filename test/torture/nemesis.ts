import type { Cluster } from './cluster.js';
import {
  FAULT_KINDS,
  type FaultKind,
  type History,
  PROCESSES,
  type ProcessName,
  SERVES,
  type ServeName,
} from './history.js';
import type { CutMode } from './link-proxy.js';
import type { Prng } from './prng.js';

/**
 * Breaks things while the workload runs, in `lanes` concurrent lanes: cuts one process's
 * link to Redis or PostgreSQL (closing its connections and refusing or blackholing new
 * ones), delays PostgreSQL's replies to one instance, restarts Redis with its
 * append-only file (the stream survives) or wiped (the stream is lost), SIGKILLs an
 * instance and starts it again on the same port, and cuts an instance off Redis and then
 * kills it (what it revoked meanwhile was never published). Kinds are dealt from a
 * shuffled deck, so a run long enough for one deck injects every kind. Each fault is
 * recorded with its start and the time everything it broke was restored.
 */

interface Plan {
  kind: FaultKind;
  resources: string[];
  run: () => Promise<void>;
}

export class Nemesis {
  private readonly busy = new Set<string>();
  private deck: FaultKind[] = [];
  private dealt = false;
  private stopRequested = false;
  private aborting = false;
  private wake: Array<() => void> = [];
  readonly errors: string[] = [];
  /** Told which instance is cut off Redis before being killed (null when over). */
  onIsolate: (target: ServeName | null) => void = () => {};

  constructor(
    private readonly cluster: Cluster,
    private readonly history: History,
    private readonly rng: Prng,
    private readonly log: (line: string) => void,
    private readonly lanes = 2,
  ) {}

  /** Injects faults until stop() is called, then finishes the faults in progress. */
  async run(): Promise<void> {
    await Promise.all([
      ...Array.from({ length: this.lanes }, (_, lane) => this.lane(this.rng.fork(`lane${lane}`))),
      this.watch(),
    ]);
  }

  /**
   * A process down that no fault holds has exited on its own (the checker reports the
   * exit): start it again, as a supervisor would, and record the gap like a fault.
   */
  private async watch(): Promise<void> {
    const every = 250;
    while (!this.stopRequested) {
      await this.pause(every);
      for (const name of PROCESSES) {
        const proc = name === 'verifier' ? this.cluster.verifier : this.cluster.serve(name);
        if (proc === undefined || proc.running || this.busy.has(`proc:${name}`)) continue;
        this.busy.add(`proc:${name}`);
        const last = proc.unexpectedExits[proc.unexpectedExits.length - 1];
        const fault = this.history.startFault(
          'crash-restart',
          [name],
          `${name} exited on its own (code ${last?.code ?? '?'}); started again`,
          last?.at ?? this.history.now() - every,
        );
        this.log(`nemesis: ${name} exited on its own; starting it again`);
        try {
          if (this.aborting) break;
          if (name === 'verifier') await proc.start();
          else await this.ensureRunning(name);
        } catch (error) {
          this.errors.push(`restarting ${name}: ${String(error)}`);
        } finally {
          this.history.endFault(fault);
          this.busy.delete(`proc:${name}`);
        }
      }
    }
  }

  stop(): void {
    this.stopRequested = true;
    for (const wake of this.wake.splice(0)) wake();
  }

  /** Stops at once without repairing anything (Ctrl-C: everything is torn down next). */
  abort(): void {
    this.aborting = true;
    this.stop();
  }

  /** Restores every link, starts Redis and every instance that is down. */
  async heal(): Promise<void> {
    await this.cluster.proxies?.restoreAll();
    if (this.cluster.redis && !this.cluster.redis.running) await this.cluster.redis.start();
    await Promise.all(SERVES.map((name) => this.ensureRunning(name)));
    if (this.cluster.verifier && !this.cluster.verifier.running)
      await this.cluster.verifier.start();
    this.history.healedAt = this.history.now();
  }

  /** Waits `ms`, less if the run is stopping. */
  private pause(ms: number): Promise<void> {
    if (this.stopRequested) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.wake = this.wake.filter((w) => w !== done);
        resolve();
      }, ms);
      this.wake.push(done);
    });
  }

  /**
   * The first plannable card of the deck; cards whose targets are busy stay in place for
   * the next draw. The first deck deals the slow kinds (a restart takes seconds) first, so
   * a short run still sees every kind.
   */
  private draw(rng: Prng): Plan | null {
    if (this.deck.length === 0) {
      const slow: FaultKind[] = ['kill-serve', 'isolate-then-kill'];
      const rest = FAULT_KINDS.filter((kind) => !slow.includes(kind));
      this.deck = this.dealt
        ? rng.shuffle(FAULT_KINDS)
        : [...rng.shuffle(slow), ...rng.shuffle(rest)];
      this.dealt = true;
    }
    for (let i = 0; i < this.deck.length; i++) {
      const plan = this.plan(this.deck[i] as FaultKind, rng);
      if (plan === null) continue;
      this.deck.splice(i, 1);
      return plan;
    }
    return null;
  }

  private free(resources: string[]): boolean {
    return resources.every((r) => !this.busy.has(r));
  }

  /** A fault of this kind on a target whose resources are free, or null. */
  private plan(kind: FaultKind, rng: Prng): Plan | null {
    const pickFree = <T>(items: readonly T[], resources: (item: T) => string[]): T | null => {
      const free = items.filter((item) => this.free(resources(item)));
      return free.length === 0 ? null : rng.pick(free);
    };
    switch (kind) {
      case 'cut-redis-link': {
        const targets: ProcessName[] = [...SERVES, 'verifier'];
        const target = pickFree(targets, (t) => [`link:${t}:redis`]);
        if (target === null) return null;
        const mode: CutMode = rng.chance(0.5) ? 'refuse' : 'blackhole';
        const ms = rng.int(500, 4500);
        return {
          kind,
          resources: [`link:${target}:redis`],
          run: () => this.cut(kind, target, 'redis', mode, ms),
        };
      }
      case 'cut-pg-link': {
        const target = pickFree(SERVES, (t) => [`link:${t}:pg`]);
        if (target === null) return null;
        const mode: CutMode = rng.chance(0.5) ? 'refuse' : 'blackhole';
        const ms = rng.int(500, 4500);
        return {
          kind,
          resources: [`link:${target}:pg`],
          run: () => this.cut(kind, target, 'pg', mode, ms),
        };
      }
      case 'delay-pg-link': {
        const target = pickFree(SERVES, (t) => [`link:${t}:pg`]);
        if (target === null) return null;
        const delay = rng.int(50, 1500);
        const ms = rng.int(1000, 5000);
        return {
          kind,
          resources: [`link:${target}:pg`],
          run: () => this.delayLink(target, delay, ms),
        };
      }
      case 'redis-restart-persistent':
      case 'redis-restart-lossy': {
        if (!this.free(['redis'])) return null;
        const down = rng.int(200, 2500);
        return {
          kind,
          resources: ['redis'],
          run: () => this.restartRedis(kind, down),
        };
      }
      case 'kill-serve': {
        if (!this.free(['kill'])) return null;
        const target = pickFree(SERVES, (t) => [`proc:${t}`]);
        if (target === null) return null;
        const down = rng.int(200, 2000);
        return {
          kind,
          resources: ['kill', `proc:${target}`],
          run: () => this.killServe(target, down),
        };
      }
      case 'isolate-then-kill': {
        if (!this.free(['kill'])) return null;
        const target = pickFree(SERVES, (t) => [`proc:${t}`, `link:${t}:redis`]);
        if (target === null) return null;
        const isolated = rng.int(1000, 3000);
        const down = rng.int(200, 1000);
        return {
          kind,
          resources: ['kill', `proc:${target}`, `link:${target}:redis`],
          run: () => this.isolateThenKill(target, isolated, down),
        };
      }
    }
  }

  private async lane(rng: Prng): Promise<void> {
    await this.pause(rng.int(300, 1500));
    while (!this.stopRequested) {
      const plan = this.draw(rng);
      if (plan === null) {
        await this.pause(200);
        continue;
      }
      for (const r of plan.resources) this.busy.add(r);
      try {
        await plan.run();
      } catch (error) {
        this.errors.push(`${plan.kind}: ${String(error)}`);
        this.log(`nemesis: ${plan.kind} failed: ${String(error).split('\n')[0]}`);
      } finally {
        for (const r of plan.resources) this.busy.delete(r);
      }
      await this.pause(rng.int(200, 1200));
    }
  }

  private async cut(
    kind: FaultKind,
    target: ProcessName,
    service: 'redis' | 'pg',
    mode: CutMode,
    ms: number,
  ): Promise<void> {
    const link = `${target}:${service}`;
    const proxies = this.cluster.proxies!;
    const fault = this.history.startFault(kind, [target], `${link} ${mode} for ${ms} ms`);
    this.log(`nemesis: +${fault.id} ${kind} ${fault.detail}`);
    try {
      await proxies.cut(link, mode);
      await this.pause(ms);
    } finally {
      await proxies.restore(link);
      this.history.endFault(fault);
      this.log(`nemesis: -${fault.id} ${kind}`);
    }
  }

  private async delayLink(target: ServeName, delay: number, ms: number): Promise<void> {
    const link = `${target}:pg`;
    const proxies = this.cluster.proxies!;
    const fault = this.history.startFault(
      'delay-pg-link',
      [target],
      `${link} +${delay} ms per reply for ${ms} ms`,
    );
    this.log(`nemesis: +${fault.id} delay-pg-link ${fault.detail}`);
    try {
      await proxies.delay(link, delay);
      await this.pause(ms);
    } finally {
      await proxies.restore(link);
      this.history.endFault(fault);
      this.log(`nemesis: -${fault.id} delay-pg-link`);
    }
  }

  private async restartRedis(kind: FaultKind, down: number): Promise<void> {
    const redis = this.cluster.redis!;
    const lossy = kind === 'redis-restart-lossy';
    const fault = this.history.startFault(
      kind,
      ['*'],
      `redis-server SIGKILL, ${lossy ? 'data wiped' : 'append-only file kept'}, down ${down} ms`,
    );
    this.log(`nemesis: +${fault.id} ${kind} ${fault.detail}`);
    try {
      await redis.kill();
      if (lossy) redis.wipe();
      await this.pause(down);
    } finally {
      if (!this.aborting) await redis.start();
      this.history.endFault(fault);
      this.log(`nemesis: -${fault.id} ${kind}`);
    }
  }

  private async killServe(target: ServeName, down: number): Promise<void> {
    const fault = this.history.startFault(
      'kill-serve',
      [target],
      `${target} SIGKILL, down ${down} ms`,
    );
    this.log(`nemesis: +${fault.id} kill-serve ${fault.detail}`);
    try {
      await this.cluster.serve(target).kill();
      await this.pause(down);
    } finally {
      await this.ensureRunning(target);
      this.history.endFault(fault);
      this.log(`nemesis: -${fault.id} kill-serve`);
    }
  }

  private async isolateThenKill(target: ServeName, isolated: number, down: number): Promise<void> {
    const link = `${target}:redis`;
    const proxies = this.cluster.proxies!;
    const fault = this.history.startFault(
      'isolate-then-kill',
      [target],
      `${link} refused for ${isolated} ms, then ${target} SIGKILL, down ${down} ms`,
    );
    this.log(`nemesis: +${fault.id} isolate-then-kill ${fault.detail}`);
    try {
      await proxies.cut(link, 'refuse');
      this.onIsolate(target);
      await this.pause(isolated);
      this.onIsolate(null);
      await this.cluster.serve(target).kill();
      await proxies.restore(link);
      await this.pause(down);
    } finally {
      this.onIsolate(null);
      await proxies.restore(link);
      await this.ensureRunning(target);
      this.history.endFault(fault);
      this.log(`nemesis: -${fault.id} isolate-then-kill`);
    }
  }

  /** Starts the instance if it is down, retrying (a start fails while its store is unreachable). */
  private async ensureRunning(name: ServeName): Promise<void> {
    const serve = this.cluster.serve(name);
    for (let attempt = 1; !serve.running && !this.aborting; attempt++) {
      try {
        await serve.start();
      } catch (error) {
        if (attempt >= 5) throw error;
        this.log(`nemesis: ${name} did not start (attempt ${attempt}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
}
