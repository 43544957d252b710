// A Hono service that only verifies: keys from the auth server's JWKS, revocations from
// its Redis stream. No database, no notbefore routes.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { AuthError, createVerifier, ERROR_STATUS } from 'notbefore';
import { redisFeed } from 'notbefore/redis';

const feed = redisFeed(process.env.REDIS_URL, { key: process.env.STREAM_KEY });
const verifier = createVerifier({
  jwks: process.env.JWKS_URL,
  feed,
  issuer: 'https://auth.consumer.test',
  audience: process.env.AUDIENCE,
});
await verifier.ready();

const app = new Hono();
app.use('/private', async (c, next) => {
  const token = (c.req.header('authorization') ?? '').replace(/^Bearer /, '');
  try {
    c.set('claims', verifier.verify(token));
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    return c.json({ error: { code: error.code } }, ERROR_STATUS[error.code]);
  }
  await next();
});
app.get('/private', (c) => c.json({ sub: c.get('claims').sub }));

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  console.log(`listening http://127.0.0.1:${info.port}`);
});
process.on('SIGTERM', () => {
  server.close(() => verifier.close().then(() => feed.close()));
});
