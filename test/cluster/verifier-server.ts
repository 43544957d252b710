/**
 * A separate API process that only verifies: createVerifier with the auth servers' JWKS
 * URL and the Redis feed (REDIS_URL), or the PostgreSQL feed (FEED_PG_URL: read access to the
 * revocation log, nothing else). GET /check answers 200 with the claims' sid, or the
 * AuthError's status and code; GET /feed the feed's stats. Prints its URL when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAuthError } from '../../src/errors.js';
import { postgresFeed } from '../../src/feeds/postgres.js';
import { redisFeed } from '../../src/feeds/redis.js';
import { createVerifier } from '../../src/verifier/index.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

const feed =
  process.env.FEED_PG_URL === undefined
    ? redisFeed(env('REDIS_URL'), { blockMs: 100 })
    : postgresFeed(process.env.FEED_PG_URL, { pollMs: 100 });
const verifier = createVerifier({
  jwks: env('JWKS_URL'),
  feed,
  issuer: env('ISSUER'),
  audience: env('AUDIENCE'),
  maxStaleness: Number(env('MAX_STALENESS')),
});
await verifier.ready();

const server = createServer((request, response) => {
  if (request.url === '/feed') {
    // Revocation → applied delay of the last event: from the Redis entry id, or from the
    // event's own time on the PostgreSQL feed (same host, one clock).
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(feed.stats()));
    return;
  }
  const header = request.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7) : '';
  let status = 200;
  let body: Record<string, unknown>;
  try {
    body = { sid: verifier.verify(token).sid };
  } catch (error) {
    if (!isAuthError(error)) throw error;
    status = error.status;
    body = { error: { code: error.code } };
  }
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
});
server.listen(0, '127.0.0.1', () => {
  console.log(`verifier listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.once('SIGTERM', () => {
  server.close();
  void verifier
    .close()
    .then(() => feed.close())
    .then(() => process.exit(0));
});
