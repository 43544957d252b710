/**
 * The other end of the event-stream scale measurement, in its own process (forked with an
 * IPC channel by streams-server.ts): opens many `GET /auth/events` streams over raw
 * sockets, one request each on a keep-alive connection as a browser's, which it closes
 * itself once the response has ended. Per stream it keeps a few bytes (typed arrays), not
 * an HTTP client, so ten thousand streams cost this process little and never share its
 * event loop with the server.
 *
 * It reports when every stream of a user has received `session-revoked` (`user-done`),
 * and when every stream has (`all-done`), with the receiving times as
 * `performance.timeOrigin + performance.now()`: a wall-clock time with sub-millisecond
 * resolution that the server process reads the same way.
 */
import { connect, type Socket } from 'node:net';
import { isEntryPoint } from './http-variants.js';

/** Sent to the client once: whom to connect to, with which tokens. */
export interface OpenCommand {
  type: 'open';
  port: number;
  /** One access token per stream. */
  tokens: string[];
  /** The user (an index) each stream belongs to. */
  owners: number[];
  /** Connections being opened at once. */
  concurrency: number;
}

export type ClientCommand = OpenCommand | { type: 'stats' } | { type: 'exit' };

export interface ClientStats {
  /** Streams answered 200 with an event-stream. */
  open: number;
  /** Streams that got `session-revoked`. */
  revoked: number;
  /** Sockets the server has ended. */
  closed: number;
  /** Streams with at least one heartbeat comment. */
  heartbeated: number;
  heartbeats: number;
  /** Events other than session-revoked (none are expected). */
  otherEvents: number;
}

export type ClientReport =
  | { type: 'opened'; ok: number; failed: number; firstFailure?: string; ms: number }
  | { type: 'user-done'; user: number; firstAt: number; lastAt: number }
  | { type: 'all-done'; firstAt: number; lastAt: number }
  | ({ type: 'stats' } & ClientStats);

const now = (): number => performance.timeOrigin + performance.now();

const CONNECTING = 0;
const OPEN = 1;
const REVOKED = 2;

class Streams {
  readonly #state: Uint8Array;
  readonly #heartbeats: Uint32Array;
  readonly #sockets: (Socket | undefined)[];
  /** The incomplete last line of each stream (almost always empty). */
  readonly #pending: string[];
  readonly #owners: number[];
  /** Streams of each user not yet revoked, and when the first of them was. */
  readonly #left = new Map<number, number>();
  readonly #firstAt = new Map<number, number>();
  #revoked = 0;
  #closed = 0;
  #otherEvents = 0;
  #allFirstAt = 0;
  readonly #send: (report: ClientReport) => void;

  constructor(owners: number[], send: (report: ClientReport) => void) {
    this.#owners = owners;
    this.#state = new Uint8Array(owners.length);
    this.#heartbeats = new Uint32Array(owners.length);
    this.#sockets = new Array(owners.length);
    this.#pending = new Array(owners.length).fill('');
    for (const owner of owners) this.#left.set(owner, (this.#left.get(owner) ?? 0) + 1);
    this.#send = send;
  }

  /** Opens every stream, `concurrency` at a time; resolves with the failures. */
  open(port: number, tokens: string[], concurrency: number): Promise<string[]> {
    const failures: string[] = [];
    let next = 0;
    let settled = 0;
    return new Promise((resolve) => {
      const start = (): void => {
        if (next >= tokens.length) return;
        const i = next++;
        this.#connect(i, port, tokens[i]!, (failure) => {
          if (failure !== undefined) failures.push(failure);
          settled++;
          if (settled === tokens.length) resolve(failures);
          else start();
        });
      };
      if (tokens.length === 0) resolve(failures);
      for (let k = 0; k < Math.min(concurrency, tokens.length); k++) start();
    });
  }

  #connect(i: number, port: number, token: string, settle: (failure?: string) => void): void {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.#sockets[i] = socket;
    socket.setEncoding('latin1');
    let settled = false;
    const done = (failure?: string): void => {
      if (settled) return;
      settled = true;
      settle(failure);
    };
    socket.on('connect', () => {
      socket.write(
        `GET /auth/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n` +
          `Authorization: Bearer ${token}\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: string) => {
      if (this.#state[i] !== CONNECTING) {
        this.#read(i, chunk);
        return;
      }
      // The head may come in pieces: wait for its end before judging it.
      const text = this.#pending[i] + chunk;
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        this.#pending[i] = text;
        return;
      }
      const head = text.slice(0, end);
      this.#pending[i] = '';
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      if (status !== '200' || !/\r\ncontent-type: *text\/event-stream/i.test(head)) {
        done(`status ${status ?? '?'}: ${text.slice(0, 300)}`);
        socket.destroy();
        return;
      }
      this.#state[i] = OPEN;
      done();
      this.#read(i, text.slice(end + 4));
    });
    socket.on('error', (error) => done(error.message));
    socket.on('close', () => {
      done('closed before the answer');
      this.#sockets[i] = undefined;
      this.#closed++;
    });
  }

  /** Reads SSE lines; HTTP chunk-size lines and the headers are not SSE fields and pass. */
  #read(i: number, chunk: string): void {
    const text = this.#pending[i] + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const line = text.slice(start, nl);
      start = nl + 1;
      if (line.startsWith(':')) this.#heartbeats[i]!++;
      else if (line.startsWith('event:')) this.#event(i, line.slice(6).trim());
      else if (line === '0\r') this.#ended(i);
    }
    this.#pending[i] = text.slice(start);
  }

  /**
   * The response's last chunk: the connection is closed after the reads at hand, so that
   * closing it (two system calls) does not delay reading the events of the other streams
   * that arrived with it, which is what is being timed.
   */
  #ended(i: number): void {
    const socket = this.#sockets[i];
    if (socket !== undefined) setImmediate(() => socket.destroy());
  }

  #event(i: number, name: string): void {
    if (name !== 'session-revoked' || this.#state[i] !== OPEN) {
      this.#otherEvents++;
      return;
    }
    const at = now();
    this.#state[i] = REVOKED;
    if (this.#revoked++ === 0) this.#allFirstAt = at;
    const owner = this.#owners[i]!;
    if (!this.#firstAt.has(owner)) this.#firstAt.set(owner, at);
    const left = (this.#left.get(owner) ?? 0) - 1;
    this.#left.set(owner, left);
    if (left === 0) {
      this.#send({
        type: 'user-done',
        user: owner,
        firstAt: this.#firstAt.get(owner)!,
        lastAt: at,
      });
    }
    if (this.#revoked === this.#owners.length) {
      this.#send({ type: 'all-done', firstAt: this.#allFirstAt, lastAt: at });
    }
  }

  stats(): ClientStats {
    let open = 0;
    let heartbeated = 0;
    let heartbeats = 0;
    for (let i = 0; i < this.#state.length; i++) {
      if (this.#state[i] !== CONNECTING) open++;
      const beats = this.#heartbeats[i]!;
      if (beats > 0) heartbeated++;
      heartbeats += beats;
    }
    return {
      open,
      revoked: this.#revoked,
      closed: this.#closed,
      heartbeated,
      heartbeats,
      otherEvents: this.#otherEvents,
    };
  }

  destroy(): void {
    for (const socket of this.#sockets) socket?.destroy();
  }
}

function serve(): void {
  const send = (report: ClientReport): void => {
    process.send?.(report);
  };
  let streams: Streams | undefined;
  process.on('message', (command: ClientCommand) => {
    if (command.type === 'open') {
      streams = new Streams(command.owners, send);
      const started = performance.now();
      void streams.open(command.port, command.tokens, command.concurrency).then((failures) => {
        send({
          type: 'opened',
          ok: command.tokens.length - failures.length,
          failed: failures.length,
          ...(failures[0] === undefined ? {} : { firstFailure: failures[0] }),
          ms: performance.now() - started,
        });
      });
    } else if (command.type === 'stats') {
      if (streams !== undefined) send({ type: 'stats', ...streams.stats() });
    } else {
      streams?.destroy();
      process.disconnect();
    }
  });
  // The parent went away: nothing is left to report to.
  process.on('disconnect', () => {
    streams?.destroy();
  });
}

if (isEntryPoint(import.meta.url)) serve();
