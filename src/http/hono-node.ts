import type { Context } from 'hono';

/**
 * What @hono/node-server puts in `c.env` (or `c.env.server`, when the app is given other
 * bindings too): the Node request and response. Both undefined on other runtimes.
 */
export interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: string }; rawHeaders?: string[] };
  outgoing?: unknown;
}

export function nodeBindings(c: Context): NodeBindings | undefined {
  const env = c.env as (NodeBindings & { server?: NodeBindings }) | undefined;
  return env?.server ?? env;
}
