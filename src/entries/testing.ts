// `notbefore/testing` at run time. Its types are ../testing/index.js's own (package.json "exports"); this
// wrapper checks the peers before that module loads, so a missing one is one clear line.
import { reexportsAll, requirePeers } from './peers.js';

await requirePeers('notbefore/testing', ['vitest']);
const impl = await import('../testing/index.js');
reexportsAll(impl, { describeFeed: true, describeStore: true });
export const { describeFeed, describeStore } = impl;
