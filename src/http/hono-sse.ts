import type { Context } from 'hono';
import type { Authenticated, HttpContext } from './core.js';
import type { EventSink, PushEventName } from './events.js';
import { BASE_HEADERS } from './response.js';

/** How long a client waits before it reconnects after the stream drops, unless told otherwise. */
const RETRY_MS = 2000;
const encoder = new TextEncoder();

/**
 * One stream's body: a bare ReadableStream the hub enqueues frames into. Enqueueing is
 * synchronous, so frames keep their order and a close never overtakes the last event, with
 * no promise chain; and one stream object per connection (not hono's streamSSE, a
 * TransformStream with a writer and a queue of writes each) keeps memory per stream low.
 * The frames are the few fixed ones below, and `data` is one JSON line: no field of ours
 * can hold a newline, so there is nothing to escape.
 */
class HonoSink implements EventSink {
  readonly body: ReadableStream<Uint8Array>;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** Set by the route once registered: what a client going away calls. */
  remove: () => void = () => {};

  constructor() {
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.#controller = undefined;
        this.remove();
      },
    });
  }

  #write(frame: string): void {
    this.#controller?.enqueue(encoder.encode(frame));
  }

  send(event: PushEventName, data: Readonly<Record<string, string | number>>): void {
    this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  heartbeat(): void {
    this.#write(':\n\n');
  }

  /** Tells the client how long to wait before reconnecting. */
  retry(ms: number): void {
    this.#write(`retry: ${ms}\n\n`);
  }

  close(retryMs?: number): void {
    if (retryMs !== undefined) this.retry(retryMs);
    this.#controller?.close();
    this.#controller = undefined;
  }
}

/** An event stream on Hono's Web streams (any runtime). */
export function honoEventStream(ctx: HttpContext, c: Context, opened: Authenticated): Response {
  for (const [name, value] of Object.entries(BASE_HEADERS)) c.header(name, value);
  c.header('content-type', 'text/event-stream');
  c.header('cache-control', 'no-store');
  c.header('x-accel-buffering', 'no');
  const sink = new HonoSink();
  sink.retry(RETRY_MS);
  sink.remove = ctx.hub.add(opened.claims, sink, opened.token);
  return c.body(sink.body);
}
