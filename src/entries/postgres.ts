// `notbefore/postgres` at run time. Its types are ../stores/postgres.js's own (package.json "exports"); this
// wrapper checks the peers before that module loads, so a missing one is one clear line.
import { reexportsAll, requirePeers } from './peers.js';

await requirePeers('notbefore/postgres', ['pg']);
const impl = await import('../stores/postgres.js');
reexportsAll(impl, { postgresStore: true, postgresFeed: true });
export const { postgresStore, postgresFeed } = impl;
