/**
 * One server for the event-stream scale measurement, in a fresh process (started by
 * streams.ts with --expose-gc and an IPC channel): a real `createAuth` on in-memory SQLite
 * behind one adapter. It forks streams-client.ts, which opens the streams, then measures
 * memory per open stream, user-level revocations and one `revokeEveryone`, and sends one
 * `StreamsResult` back.
 *
 * Each user has `STREAMS_PER_USER` streams over four sessions (five each): the default
 * per-user and per-session caps, filled. Besides the `streams` counted, `userSamples`
 * more users are opened; their revocations are the timed user-level events, so that
 * `streams` are still open during each and all of them meet the global one.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { systemClock } from '../src/clock.js';
import type { HttpOptions } from '../src/http/core.js';
import { createAuth } from '../src/sessions/auth.js';
import type { Auth } from '../src/sessions/types.js';
import { sqliteStore } from '../src/stores/sqlite.js';
import { Keyring } from '../src/tokens/keyring.js';
import { type AccessTokenSigner, createSigner } from '../src/tokens/sign.js';
import { AUDIENCE, ISSUER, TTL_SECONDS } from './fixtures.js';
import { isEntryPoint } from './http-variants.js';
import { childExecArgv, siblingScript } from './list-scale.js';
import type { ClientCommand, ClientReport, ClientStats } from './streams-client.js';

export const STREAM_ADAPTERS = ['fastify', 'express', 'hono'] as const;
export type StreamAdapter = (typeof STREAM_ADAPTERS)[number];

export interface StreamsConfig {
  /** Streams open when `revokeEveryone` runs (a multiple of STREAMS_PER_USER). */
  streams: number;
  adapter: StreamAdapter;
  /** The heartbeat interval of the server, ms. */
  heartbeatMs: number;
  /** User-level revocations timed, one after the other. */
  userSamples: number;
  /** Connections the client opens at once. */
  concurrency: number;
}

export interface StreamsResult {
  adapter: StreamAdapter;
  /** Streams open at the peak (`streams` + those of the sampled users). */
  peak: number;
  /** Streams open when revokeEveryone ran. */
  streams: number;
  /** Streams the client saw opened (200, text/event-stream) and the server counted. */
  opened: number;
  openFailures: number;
  firstOpenFailure?: string;
  /** Wall time to open them all. */
  openMs: number;
  /** Streams that received at least one heartbeat before the revocations. */
  heartbeated: number;
  /** (RSS after - RSS before) / peak, after a full GC on both sides. */
  rssBytesPerStream: number;
  /** The same for heapUsed + external (JS objects and Buffers). */
  heapBytesPerStream: number;
  /** logoutAll(user) called → the last of that user's streams received session-revoked. */
  userLatencyMs: { median: number; p99: number; max: number; samples: number[] };
  /** Median time logoutAll(user) took to return: the store, the events, the writes. */
  userCallMs: number;
  /** Median time the event hub took over a user's event (all its streams written to). */
  userHubMs: number;
  /** The same in CPU time (user + system) of the server process: what a loaded machine adds to it is waiting. */
  userHubCpuMs: number;
  /** Streams each sampled user had. */
  streamsPerUser: number;
  /** revokeEveryone() called → the last of `streams` received session-revoked. */
  globalMs: number;
  /** How long revokeEveryone() took to return: the store, then every stream written to. */
  globalCallMs: number;
  /** How long the event hub took over the global event. */
  globalHubMs: number;
  /** The same in CPU time of the server process. */
  globalHubCpuMs: number;
  /** revokeEveryone() called → the server counted every stream closed. */
  globalClosedMs: number;
  /** Events the client did not expect (any but the one session-revoked per stream). */
  strayEvents: number;
}

export type ServerMessage =
  | { type: 'result'; result: StreamsResult }
  | { type: 'error'; message: string };

/** The default per-user stream cap, four sessions of the default per-session cap. */
export const STREAMS_PER_USER = 20;
const STREAMS_PER_SESSION = 5;
const PASSWORD = 'correct horse battery staple';

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function gcFunction(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const gc = gcFunction();

function memory(): { rss: number; heap: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const median = (values: readonly number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

interface Listening {
  port: number;
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

async function startServer(adapter: StreamAdapter, options: HttpOptions): Promise<Listening> {
  if (adapter === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const { notbefore } = await import('../src/http/fastify.js');
    const app = Fastify({ logger: false, forceCloseConnections: true });
    await app.register(notbefore, options);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
  }
  if (adapter === 'express') {
    const { default: express } = await import('express');
    const { notbeforeRouter } = await import('../src/http/express.js');
    const app = express();
    const { auth, ...rest } = options;
    const router = notbeforeRouter(auth, rest);
    app.use(router);
    const server = createServer(app);
    const port = await listen(server);
    return {
      port,
      close: async () => {
        router.close();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }
  const { createAdaptorServer } = await import('@hono/node-server');
  const { notbeforeRoutes } = await import('../src/http/hono.js');
  const { auth, ...rest } = options;
  const routes = notbeforeRoutes(auth, rest);
  const server = createAdaptorServer({ fetch: routes.fetch }) as Server;
  const port = await listen(server);
  return {
    port,
    close: async () => {
      routes.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Users {
  /** The user of each index: a stored user for the sampled ones, else a bare id. */
  ids: string[];
  tokens: string[];
  owners: number[];
}

/**
 * `count` users, four sessions each, five streams per session (one token per session).
 * The first `bulk` only hold streams: their tokens come from the auth's own key and
 * claims, without a sign-in each (2,000 of them at argon2's cost would take most of the
 * run). The others are signed up and signed in for real: their `logoutAll` is timed.
 */
async function makeUsers(
  auth: Auth,
  signer: AccessTokenSigner,
  bulk: number,
  count: number,
): Promise<Users> {
  const users: Users = { ids: [], tokens: [], owners: [] };
  const sessions = STREAMS_PER_USER / STREAMS_PER_SESSION;
  for (let u = 0; u < count; u++) {
    const email = `user${u}@example.com`;
    const real = u >= bulk;
    users.ids.push(
      real
        ? (await auth.signup({ email, password: PASSWORD })).id
        : randomBytes(12).toString('base64url'),
    );
    for (let s = 0; s < sessions; s++) {
      const token = real
        ? (await auth.login({ email, password: PASSWORD })).accessToken
        : signer.sign({
            sub: users.ids[u]!,
            sid: randomBytes(16).toString('base64url'),
            roles: [],
            authTime: Date.now(),
          }).token;
      for (let k = 0; k < STREAMS_PER_SESSION; k++) {
        users.tokens.push(token);
        users.owners.push(u);
      }
    }
  }
  return users;
}

/** The client process and the reports it sends, awaited by kind. */
class Client {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<string, (report: ClientReport) => void>();
  readonly #early = new Map<string, ClientReport>();
  #failure: Error | undefined;

  constructor() {
    this.#child = fork(siblingScript('streams-client'), [], {
      execArgv: childExecArgv().filter((flag) => flag !== '--expose-gc'),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (report: ClientReport) => {
      const key = Client.key(report);
      const waiter = this.#waiting.get(key);
      if (waiter === undefined) this.#early.set(key, report);
      else {
        this.#waiting.delete(key);
        waiter(report);
      }
    });
    this.#child.on('exit', (code) => {
      this.#failure = new Error(`the stream client exited with ${code}`);
    });
  }

  static key(report: ClientReport): string {
    return report.type === 'user-done' ? `user-done:${report.user}` : report.type;
  }

  send(command: ClientCommand): void {
    this.#child.send(command);
  }

  /** The report `key`, within `timeoutMs`. */
  wait<K extends ClientReport['type']>(
    key: string,
    timeoutMs: number,
  ): Promise<Extract<ClientReport, { type: K }>> {
    const early = this.#early.get(key);
    if (early !== undefined) {
      this.#early.delete(key);
      return Promise.resolve(early as Extract<ClientReport, { type: K }>);
    }
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(key);
        reject(new Error(`no ${key} from the stream client within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(key, (report) => {
        clearTimeout(timer);
        resolve(report as Extract<ClientReport, { type: K }>);
      });
    });
  }

  async stats(): Promise<ClientStats> {
    this.send({ type: 'stats' });
    return this.wait<'stats'>('stats', 10_000);
  }

  close(): void {
    if (this.#child.connected) this.send({ type: 'exit' });
    const child = this.#child;
    setTimeout(() => child.kill(), 2000).unref();
  }
}

async function until(what: string, timeoutMs: number, done: () => boolean): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export async function runStreams(config: StreamsConfig): Promise<StreamsResult> {
  if (config.streams % STREAMS_PER_USER !== 0) {
    throw new RangeError(`streams must be a multiple of ${STREAMS_PER_USER}`);
  }
  const store = sqliteStore(':memory:');
  const keys = Keyring.generate('EdDSA');
  const auth = createAuth({
    store,
    keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock: systemClock,
    // The measurement is of streams, not of argon2: the cheapest allowed hash.
    password: { memoryCost: 1024, timeCost: 1, parallelism: 1, allowWeakHash: true },
  });
  await auth.ready();
  const base = config.streams / STREAMS_PER_USER;
  const signer = createSigner({
    keyring: keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    ttl: TTL_SECONDS,
    clock: systemClock,
  });
  const users = await makeUsers(auth, signer, base, base + config.userSamples);
  const peak = users.tokens.length;
  // Listeners run in the order they subscribed: this one before the hub's, the next after.
  let eventAt = 0;
  let eventCpu = process.cpuUsage();
  let hubMs = 0;
  let hubCpuMs = 0;
  auth.onRevocation(() => {
    eventAt = now();
    eventCpu = process.cpuUsage();
  });
  let open = 0;
  const server = await startServer(config.adapter, {
    auth,
    rateLimit: 0,
    heartbeatMs: config.heartbeatMs,
    metrics: { contentType: 'text/plain', render: () => '', eventStreams: (d) => (open += d) },
  });
  auth.onRevocation(() => {
    hubMs = now() - eventAt;
    const cpu = process.cpuUsage(eventCpu);
    hubCpuMs = (cpu.user + cpu.system) / 1000;
  });
  const client = new Client();
  try {
    const before = memory();
    client.send({
      type: 'open',
      port: server.port,
      tokens: users.tokens,
      owners: users.owners,
      concurrency: config.concurrency,
    });
    const opened = await client.wait<'opened'>('opened', 120_000);
    await until('the server to count every stream', 10_000, () => open >= opened.ok);
    // Every stream is due one heartbeat within an interval of opening; a busy machine may
    // run the timer late, so allow one interval more before reporting the shortfall.
    await sleep(config.heartbeatMs);
    let beats = await client.stats();
    for (let waited = 0; beats.heartbeated < opened.ok && waited < config.heartbeatMs; ) {
      await sleep(250);
      waited += 250;
      beats = await client.stats();
    }
    const after = memory();

    const samples: number[] = [];
    const calls: number[] = [];
    const hub: number[] = [];
    const hubCpu: number[] = [];
    for (let k = 0; k < config.userSamples; k++) {
      const user = base + k;
      const started = now();
      await auth.logoutAll(users.ids[user]!);
      calls.push(now() - started);
      hub.push(hubMs);
      hubCpu.push(hubCpuMs);
      const done = await client.wait<'user-done'>(`user-done:${user}`, 10_000);
      samples.push(done.lastAt - started);
    }
    await until('the sampled users’ streams to close', 10_000, () => open <= config.streams);

    const globalStart = now();
    await auth.revokeEveryone();
    const globalCallMs = now() - globalStart;
    const globalHubMs = hubMs;
    const globalHubCpuMs = hubCpuMs;
    const all = await client.wait<'all-done'>('all-done', 30_000);
    await until('every stream to close', 30_000, () => open === 0);
    const globalClosedMs = now() - globalStart;
    const final = await client.stats();

    const sorted = [...samples].sort((a, b) => a - b);
    return {
      adapter: config.adapter,
      peak,
      streams: config.streams,
      opened: Math.min(opened.ok, beats.open),
      openFailures: opened.failed,
      ...(opened.firstFailure === undefined ? {} : { firstOpenFailure: opened.firstFailure }),
      openMs: opened.ms,
      heartbeated: beats.heartbeated,
      rssBytesPerStream: (after.rss - before.rss) / peak,
      heapBytesPerStream: (after.heap - before.heap) / peak,
      userLatencyMs: {
        median: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.at(-1) ?? Number.NaN,
        samples,
      },
      userCallMs: median(calls),
      userHubMs: median(hub),
      userHubCpuMs: median(hubCpu),
      streamsPerUser: STREAMS_PER_USER,
      globalCallMs,
      globalHubMs,
      globalHubCpuMs,
      globalMs: all.lastAt - globalStart,
      globalClosedMs,
      strayEvents: final.otherEvents,
    };
  } finally {
    client.close();
    await server.close();
    await auth.close();
    await store.close();
  }
}

function serve(): void {
  const reply = (message: ServerMessage): void => {
    process.send?.(message, () => process.disconnect());
  };
  // The parent went away (done, or killed mid-run): nobody is left to measure for.
  process.once('disconnect', () => process.exit());
  process.once('message', (config: StreamsConfig) => {
    runStreams(config).then(
      (result) => reply({ type: 'result', result }),
      (error: unknown) =>
        reply({
          type: 'error',
          message: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    );
  });
}

if (isEntryPoint(import.meta.url)) serve();
