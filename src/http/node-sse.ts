import type { IncomingMessage, ServerResponse } from 'node:http';
import { createEventBuffer } from 'better-sse';
import type { Authenticated, HttpContext } from './core.js';
import { SSE_HEADERS } from './response.js';
import { type SseFrames, streamToResponse } from './sse-response.js';

const HEAD = { status: 200, headers: SSE_HEADERS };

/** better-sse frames every event (`EventBuffer`); the stream itself is ours. */
const FRAMES: SseFrames = {
  event: (event, data) => createEventBuffer().event(event).data(data).dispatch().read(),
  heartbeat: createEventBuffer().comment().dispatch().read(),
  retry: (ms) => createEventBuffer().retry(ms).dispatch().read(),
};

/** An event stream on a Node request/response pair (Fastify and Express). */
export function nodeEventStream(
  ctx: HttpContext,
  opened: Authenticated,
  _req: IncomingMessage,
  res: ServerResponse,
): void {
  streamToResponse(ctx, opened, res, HEAD, FRAMES);
}
