import type { Context } from 'hono';
import type { Authenticated, HttpContext } from './core.js';
import type { EventSink, PushEventName } from './events.js';
import { nodeBindings } from './hono-node.js';
import { SSE_HEADERS } from './response.js';
import { RETRY_MS, type SseFrames, type SseResponse, streamToResponse } from './sse-response.js';

const encoder = new TextEncoder();

/**
 * The frames are the few fixed ones below, and `data` is one JSON line: no field of ours
 * can hold a newline, so there is nothing to escape.
 */
const FRAMES: SseFrames = {
  event: (event, data) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`,
  heartbeat: ':\n\n',
  retry: (ms) => `retry: ${ms}\n\n`,
};

/**
 * One stream's body off Node: a bare ReadableStream the hub enqueues frames into.
 * Enqueueing is synchronous, so frames keep their order and a close never overtakes the
 * last event, with no promise chain; and one stream object per connection (not hono's
 * streamSSE, a TransformStream with a writer and a queue of writes each) keeps memory per
 * stream low.
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
    this.#write(FRAMES.event(event, data));
  }

  heartbeat(): void {
    this.#write(FRAMES.heartbeat);
  }

  /** Tells the client how long to wait before reconnecting. */
  retry(ms: number): void {
    this.#write(FRAMES.retry(ms));
  }

  close(retryMs?: number): void {
    if (retryMs !== undefined) this.retry(retryMs);
    this.#controller?.close();
    this.#controller = undefined;
  }
}

/**
 * @hono/node-server's HTTP/1 `ServerResponse` (`c.env.outgoing`, where its `getConnInfo`
 * looks); undefined on other runtimes, and for HTTP/2 (no `flushHeaders`).
 */
function nodeOutgoing(c: Context): SseResponse | undefined {
  const outgoing = nodeBindings(c)?.outgoing as Partial<SseResponse> | undefined;
  return typeof outgoing?.writeHead === 'function' && typeof outgoing.flushHeaders === 'function'
    ? (outgoing as SseResponse)
    : undefined;
}

/** Node's header record of a Fetch Response, as @hono/node-server writes it. */
function nodeHeaders(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') out[name] = value;
  });
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}

/**
 * Tells @hono/node-server (1.9 and later) that the handler answered on `outgoing` itself: a
 * bodiless response with its `x-hono-already-sent` header. While node-server serves, the
 * global `Response` is its lightweight one, which it would answer as a plain bodiless 200
 * (after ours: an error written into the stream) unless made a full one, as reading any
 * body property does. Hono's copies of a full one (made when middleware set headers on the
 * answer, as `cors()` does) are full ones too. A fresh one each time: middleware may set
 * headers on it.
 */
function alreadySent(): Response {
  const marker = new Response(null, { headers: { 'x-hono-already-sent': 'true' } });
  void marker.bodyUsed;
  return marker;
}

/**
 * An event stream on Hono. On @hono/node-server it is written straight to the Node
 * response, as Fastify and Express do; elsewhere (Bun, Deno, workers, app.request) it is a
 * Web stream, whose reader, pending reads and Fetch objects node-server would keep for as
 * long as the stream is open.
 */
export function honoEventStream(ctx: HttpContext, c: Context, opened: Authenticated): Response {
  for (const [name, value] of Object.entries(SSE_HEADERS)) c.header(name, value);
  // A HEAD never gets here (openStream answers it with the head alone); were one to, the
  // Web path suits it: Hono answers HEAD with a bodiless copy, which node-server ends.
  const outgoing = c.req.method === 'GET' ? nodeOutgoing(c) : undefined;
  if (outgoing !== undefined) {
    // The status and headers Hono would send, those set by middleware before us included.
    const head = c.body(null);
    streamToResponse(
      ctx,
      opened,
      outgoing,
      { status: head.status, headers: nodeHeaders(head.headers) },
      FRAMES,
    );
    return alreadySent();
  }
  const sink = new HonoSink();
  sink.retry(RETRY_MS);
  sink.remove = ctx.hub.add(opened.claims, sink, opened.token);
  return c.body(sink.body);
}
