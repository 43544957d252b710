// A Fastify + SQLite app: the plugin, and app.authenticate on the app's own route.
import Fastify from 'fastify';
import { createAuth } from 'notbefore';
import { notbefore } from 'notbefore/fastify';
import { sqliteStore } from 'notbefore/sqlite';

const store = sqliteStore(process.env.DB_FILE);
const auth = createAuth({ store, issuer: 'https://auth.consumer.test' });
await auth.ready();

const app = Fastify();
await app.register(notbefore, { auth });
app.get('/private', { preHandler: app.authenticate }, async (request) => ({
  sub: request.auth.sub,
}));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening ${url}`);
process.on('SIGTERM', () => {
  app.close().then(() => auth.close().then(() => store.close()));
});
