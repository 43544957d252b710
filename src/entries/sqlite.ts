// `notbefore/sqlite` at run time. Its types are ../stores/sqlite.js's own (package.json "exports"); this
// wrapper checks the peers before that module loads, so a missing one is one clear line.
import { reexportsAll, requirePeers } from './peers.js';

await requirePeers('notbefore/sqlite', ['better-sqlite3']);
const impl = await import('../stores/sqlite.js');
reexportsAll(impl, { sqliteStore: true });
export const { sqliteStore } = impl;
