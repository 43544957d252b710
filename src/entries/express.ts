// `notbefore/express` at run time. Its types are ../http/express.js's own (package.json "exports"); this
// wrapper checks the peers before that module loads, so a missing one is one clear line.
import { reexportsAll, requirePeers } from './peers.js';

await requirePeers('notbefore/express', ['express']);
const impl = await import('../http/express.js');
reexportsAll(impl, { notbeforeRouter: true });
export const { notbeforeRouter } = impl;
