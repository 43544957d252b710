import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSession } from 'better-sse';
import type { AccessTokenClaims } from '../tokens/types.js';
import type { HttpContext } from './core.js';
import { BASE_HEADERS } from './response.js';

/** An event stream on a Node request/response pair (Fastify and Express). */
export async function nodeEventStream(
  ctx: HttpContext,
  claims: AccessTokenClaims,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const session = await createSession(req, res, {
    keepAlive: ctx.heartbeatMs,
    retry: 2000,
    trustClientEventId: false,
    headers: { ...BASE_HEADERS, 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
  });
  const remove = ctx.hub.add(claims, {
    send: (event, data) => {
      session.push(data, event);
    },
    close: () => {
      res.end();
    },
  });
  session.once('disconnected', remove);
}
