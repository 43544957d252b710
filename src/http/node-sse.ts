import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSession } from 'better-sse';
import type { Authenticated, HttpContext } from './core.js';
import { BASE_HEADERS } from './response.js';

/** An event stream on a Node request/response pair (Fastify and Express). */
export async function nodeEventStream(
  ctx: HttpContext,
  opened: Authenticated,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const session = await createSession(req, res, {
    keepAlive: ctx.heartbeatMs,
    retry: 2000,
    trustClientEventId: false,
    headers: { ...BASE_HEADERS, 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
  });
  const remove = ctx.hub.add(
    opened.claims,
    {
      send: (event, data) => {
        session.push(data, event);
      },
      close: (retryMs) => {
        if (retryMs !== undefined && !res.writableEnded) res.write(`retry: ${retryMs}\n\n`);
        res.end();
      },
    },
    opened.token,
  );
  session.once('disconnected', remove);
}
