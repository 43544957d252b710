// `notbefore/fastify` at run time. Its types are ../http/fastify.js's own (package.json "exports"); this
// wrapper checks the peers before that module loads, so a missing one is one clear line.
import { reexportsAll, requirePeers } from './peers.js';

await requirePeers('notbefore/fastify', ['fastify', 'fastify-plugin']);
const impl = await import('../http/fastify.js');
reexportsAll(impl, { default: true, frameworkErrors: true, notbefore: true });
export const { frameworkErrors, notbefore } = impl;
export default impl.default;
