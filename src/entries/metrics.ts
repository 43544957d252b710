// `notbefore/metrics` at run time. Its types are ../metrics.js's own (package.json "exports"); this
// wrapper checks the peers before that module loads, so a missing one is one clear line.
import { reexportsAll, requirePeers } from './peers.js';

await requirePeers('notbefore/metrics', ['prom-client']);
const impl = await import('../metrics.js');
reexportsAll(impl, { createMetrics: true, instrumentAuth: true });
export const { createMetrics, instrumentAuth } = impl;
