// A strict TypeScript server app (skipLibCheck: false) using every server subpath, type-checked
// with NodeNext and with Bundler resolution against the packed package.
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import {
  type Auth,
  AuthError,
  createAuth,
  createVerifier,
  type RevocationFeed,
  type Store,
  type StoredUser,
} from 'notbefore';
import { notbeforeRouter } from 'notbefore/express';
import { frameworkErrors, notbefore } from 'notbefore/fastify';
import { notbeforeRoutes } from 'notbefore/hono';
import {
  createMailQueue,
  logMailer,
  type Mail,
  type Mailer,
  renderMail,
  smtpMailer,
} from 'notbefore/mail';
import { createMetrics, instrumentAuth, type Metrics } from 'notbefore/metrics';
import { postgresStore } from 'notbefore/postgres';
import { redisFeed } from 'notbefore/redis';
import { sqliteStore } from 'notbefore/sqlite';
import { describeFeed, describeStore, type FeedHarness } from 'notbefore/testing';

const store: Store = sqliteStore(':memory:');
const shared: Store = postgresStore('postgres://127.0.0.1/app');
const feed: RevocationFeed = redisFeed('redis://127.0.0.1:6379', { key: 'app' });
const auth: Auth = createAuth({ store, feed, issuer: 'https://auth.example.com' });
const metrics: Metrics = createMetrics({
  revocations: { stats: () => auth.revocationStatus().entries },
});
const counted: Auth = instrumentAuth(auth, metrics);

const app = express();
app.use(express.json());
const router = notbeforeRouter(counted, { metrics });
app.use(router);
app.get('/me', router.authenticate, (req, res) => {
  const sub: string | undefined = req.auth?.sub;
  res.json({ sub });
});

const fastify = Fastify({ frameworkErrors });
await fastify.register(notbefore, { auth });
fastify.get('/me', { preHandler: fastify.authenticate }, async (request) => ({
  sub: request.auth?.sub,
}));

const hono = new Hono();
const routes = notbeforeRoutes(auth);
hono.route('/', routes);
hono.get('/me', routes.authenticate, (c) => c.json({ sub: c.get('auth')?.sub ?? null }));

const verifier = createVerifier({
  jwks: 'https://auth.example.com/.well-known/jwks.json',
  feed,
  issuer: 'https://auth.example.com',
  audience: 'orders',
});
try {
  verifier.verify('token');
} catch (error) {
  if (error instanceof AuthError) console.log(error.code);
}

export const lastUser: StoredUser | null = null;
describeStore('postgres', () => shared);
const harness: FeedHarness = { instance: () => feed, durable: true, teardown: async () => {} };
describeFeed('redis', async () => harness);

const mailer: Mailer =
  process.env.SMTP_URL === undefined
    ? logMailer()
    : smtpMailer(process.env.SMTP_URL, {
        from: 'App <no-reply@example.com>',
        sendTimeoutMs: 10_000,
      });
const mails = createMailQueue({
  mailer,
  onError: (error, failure) => console.error(failure.to, error),
});
const welcome: Mail = renderMail('invitation', {
  productName: 'App',
  to: 'ada@example.com',
  link: 'https://app.example.com/#invitation=token',
  expiresAt: Date.now() + 7 * 86_400_000,
  at: Date.now(),
});
mails.enqueue(welcome);
await mails.close();
