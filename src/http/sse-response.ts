import type { Authenticated, HttpContext } from './core.js';
import type { EventSink, PushEventName } from './events.js';

/** How long a client waits before it reconnects after the stream drops, unless told otherwise. */
export const RETRY_MS = 2000;

/** An adapter's framing: each a whole SSE frame, its blank line included. */
export interface SseFrames {
  event(event: PushEventName, data: Readonly<Record<string, string | number>>): string;
  readonly heartbeat: string;
  retry(ms: number): string;
}

/**
 * What a stream uses of a Node `ServerResponse`. Structural, so that this module imports
 * no node:http and loads wherever the Hono adapter does.
 */
export interface SseResponse {
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: Readonly<Record<string, string | string[]>>): unknown;
  flushHeaders(): void;
  write(chunk: string): unknown;
  end(chunk?: string): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/**
 * Frames go straight to the response: a better-sse `Session` or a Web stream per
 * connection (a Fetch Request and Response, an AbortController, a reader and its pending
 * promises) cost more than the socket it writes to.
 */
class ResponseSink implements EventSink {
  readonly #res: SseResponse;
  readonly #frames: SseFrames;

  constructor(res: SseResponse, frames: SseFrames) {
    this.#res = res;
    this.#frames = frames;
  }

  /** False once ended or cut off: a write then would only raise an error event. */
  #open(): boolean {
    return !this.#res.writableEnded && !this.#res.destroyed;
  }

  send(
    event: PushEventName,
    data: Readonly<Record<string, string | number>>,
    last?: boolean,
  ): void {
    if (!this.#open()) return;
    const frame = this.#frames.event(event, data);
    // The last event and the end leave in one write (the chunk and the terminator).
    if (last === true) this.#res.end(frame);
    else this.#res.write(frame);
  }

  heartbeat(): void {
    if (this.#open()) this.#res.write(this.#frames.heartbeat);
  }

  close(retryMs?: number): void {
    if (!this.#open()) return;
    if (retryMs === undefined) this.#res.end();
    else this.#res.end(this.#frames.retry(retryMs));
  }
}

/** Answers `res` with an event stream of the hub, until either side ends it. */
export function streamToResponse(
  ctx: HttpContext,
  opened: Authenticated,
  res: SseResponse,
  head: { status: number; headers: Readonly<Record<string, string | string[]>> },
  frames: SseFrames,
): void {
  res.writeHead(head.status, head.headers);
  // Sent on their own, the headers are written out as the one string they are, which V8
  // then flattens in place; sent with the first frame, `res._header` stays a rope of some
  // fifty pieces (1.5 KiB) for as long as the stream is open.
  res.flushHeaders();
  res.write(frames.retry(RETRY_MS));
  // 'close' comes once, whoever ends the stream (the hub, the client, a cut connection).
  res.on('close', ctx.hub.add(opened.claims, new ResponseSink(res, frames), opened.token));
}
