// `notbefore/redis` at run time. Its types are ../feeds/redis.js's own (package.json "exports"); this
// wrapper checks the peers before that module loads, so a missing one is one clear line.
import { reexportsAll, requirePeers } from './peers.js';

await requirePeers('notbefore/redis', ['ioredis']);
const impl = await import('../feeds/redis.js');
reexportsAll(impl, { redisFeed: true });
export const { redisFeed } = impl;
