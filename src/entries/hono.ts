// `notbefore/hono` at run time. Its types are ../http/hono.js's own (package.json "exports"); this
// wrapper checks the peers before that module loads, so a missing one is one clear line.
import { reexportsAll, requirePeers } from './peers.js';

await requirePeers('notbefore/hono', ['hono']);
const impl = await import('../http/hono.js');
reexportsAll(impl, { notbeforeRoutes: true });
export const { notbeforeRoutes } = impl;
