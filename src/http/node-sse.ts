import type { IncomingMessage, ServerResponse } from 'node:http';
import { createEventBuffer } from 'better-sse';
import type { Authenticated, HttpContext } from './core.js';
import type { EventSink, PushEventName } from './events.js';
import { BASE_HEADERS } from './response.js';

const HEAD: Readonly<Record<string, string>> = {
  ...BASE_HEADERS,
  'content-type': 'text/event-stream',
  'cache-control': 'no-store',
  'x-accel-buffering': 'no',
};
/** How long a client waits before it reconnects after the stream drops, unless told otherwise. */
const RETRY_MS = 2000;
const HEARTBEAT = createEventBuffer().comment().dispatch().read();

const retryFrame = (ms: number): string => createEventBuffer().retry(ms).dispatch().read();

/**
 * Frames go straight to the response: a better-sse `Session` per stream (a Fetch Request
 * and Response, an AbortController, an interval, a dozen bound methods) cost more than
 * the socket it writes to. better-sse still frames every event (`EventBuffer`).
 */
class NodeSink implements EventSink {
  readonly #res: ServerResponse;

  constructor(res: ServerResponse) {
    this.#res = res;
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
    const frame = createEventBuffer().event(event).data(data).dispatch().read();
    // The last event and the end leave in one write (the chunk and the terminator).
    if (last === true) this.#res.end(frame);
    else this.#res.write(frame);
  }

  heartbeat(): void {
    if (this.#open()) this.#res.write(HEARTBEAT);
  }

  close(retryMs?: number): void {
    if (!this.#open()) return;
    if (retryMs === undefined) this.#res.end();
    else this.#res.end(retryFrame(retryMs));
  }
}

/** An event stream on a Node request/response pair (Fastify and Express). */
export function nodeEventStream(
  ctx: HttpContext,
  opened: Authenticated,
  _req: IncomingMessage,
  res: ServerResponse,
): void {
  res.writeHead(200, HEAD);
  res.write(retryFrame(RETRY_MS));
  // 'close' comes once, whoever ends the stream (the hub, the client, a cut connection).
  res.on('close', ctx.hub.add(opened.claims, new NodeSink(res), opened.token));
}
