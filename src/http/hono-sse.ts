import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Authenticated, HttpContext } from './core.js';
import { BASE_HEADERS } from './response.js';

/** An event stream on Hono's Web streams (any runtime). */
export function honoEventStream(ctx: HttpContext, c: Context, opened: Authenticated): Response {
  for (const [name, value] of Object.entries(BASE_HEADERS)) c.header(name, value);
  c.header('cache-control', 'no-store');
  return streamSSE(c, async (stream) => {
    await stream.write('retry: 2000\n\n');
    await new Promise<void>((resolve) => {
      // writeSSE is async: queue the writes so a close never overtakes the last event.
      let writes = Promise.resolve();
      const heartbeat = setInterval(() => {
        writes = writes.then(async () => {
          await stream.write(': ping\n\n');
        });
      }, ctx.heartbeatMs);
      const finish = (): void => {
        clearInterval(heartbeat);
        remove();
        resolve();
      };
      const remove = ctx.hub.add(
        opened.claims,
        {
          send: (event, data) => {
            writes = writes.then(() => stream.writeSSE({ event, data: JSON.stringify(data) }));
          },
          close: (retryMs) => {
            if (retryMs !== undefined) {
              writes = writes.then(async () => {
                await stream.write(`retry: ${retryMs}\n\n`);
              });
            }
            writes.then(finish, finish);
          },
        },
        opened.token,
      );
      stream.onAbort(finish);
    });
  });
}
