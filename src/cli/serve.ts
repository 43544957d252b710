import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { RevocationFeed } from '../feeds/port.js';
import { frameworkErrors, notbefore } from '../http/fastify.js';
import type { Mailer } from '../mail/types.js';
import { createMetrics, instrumentAuth } from '../metrics.js';
import { createAuth } from '../sessions/auth.js';
import { AUTH_DEFAULTS } from '../sessions/options.js';
import type { Auth } from '../sessions/types.js';
import type { Store } from '../stores/port.js';
import { Keyring } from '../tokens/keyring.js';
import { ownUrl, type ServeConfig } from './args.js';
import { StartupError } from './errors.js';
import { redactUrl } from './redact.js';
import { openStore, why, withTimeout } from './store.js';

export { StartupError };

export interface RunningServer {
  url: string;
  /** Stops accepting, lets in-flight requests finish, then closes auth, feed and store. */
  close(): Promise<void>;
}

/** Same name as createAuth's, so keys made here are the ones it loads (first writer wins). */
const KEYS_SECRET = 'signing-keys';
const CSRF_SECRET = 'csrf-hmac';

async function loadKeys(
  config: ServeConfig,
  store: Store,
  logger: Logger,
): Promise<Keyring | undefined> {
  if (config.keys !== undefined) {
    try {
      return Keyring.fromJwks(JSON.parse(await readFile(config.keys, 'utf8')));
    } catch (error) {
      throw new StartupError(`cannot load --keys ${config.keys}: ${why(error)}`);
    }
  }
  // Keys live in the store, made on first start with --alg; later starts reuse them.
  logger.warn(
    'signing keys are kept unencrypted in the store; use --keys FILE in production (ASVS 13.3.1)',
  );
  const fresh = JSON.stringify(Keyring.generate(config.alg).toPrivateJwks());
  const stored = Keyring.fromJwks(JSON.parse(await store.getOrCreateSecret(KEYS_SECRET, fresh)));
  if (stored.signingAlg !== config.alg) {
    throw new StartupError(
      `the store already holds ${stored.signingAlg} keys; --alg ${config.alg} cannot change them (use --keys FILE)`,
    );
  }
  return undefined;
}

async function openFeed(config: ServeConfig, logger: Logger): Promise<RevocationFeed | undefined> {
  if (config.redis === undefined) {
    if (config.db.kind !== 'postgres') return undefined;
    // Several instances on PostgreSQL alone: the store's log pushes revocations (LISTEN/NOTIFY).
    const { postgresFeed } = await import('../feeds/postgres.js');
    return postgresFeed(config.db.url, {
      onError: (error) => logger.warn({ err: error }, 'postgres feed error'),
    });
  }
  const url = config.redis;
  const { redisFeed } = await import('../feeds/redis.js');
  const host = new URL(url).hostname;
  if (url.startsWith('redis://') && !['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    logger.warn(
      'Redis over plain redis:// to a non-loopback host: use rediss:// and ACLs (ASVS 13.2.1)',
    );
  }
  return redisFeed(url, {
    // The stream must hold the whole live window, so verify-only services can load it.
    retention: (config.accessTokenTtl ?? AUTH_DEFAULTS.accessTokenTtl) + AUTH_DEFAULTS.clockSkew,
    onError: (error) => logger.warn({ err: error }, 'redis feed error'),
  });
}

/** `--port` was free when looked at and is taken now: `--port 0` looks again. */
class PortTaken extends StartupError {}

/** A port free on `host` right now. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRNOTAVAIL'
          ? new StartupError(`cannot bind to host ${host}`)
          : new StartupError(`cannot find a free port on ${host}: ${why(error)}`),
      ),
    );
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** smtpMailer with --smtp, else logMailer on serve's own log (the links are the point of it). */
async function openMailer(config: ServeConfig, logger: Logger): Promise<Mailer> {
  const { logMailer, smtpMailer } = await import('../entries/mail.js');
  if (config.smtp === undefined) {
    logger.warn(
      'no --smtp: mails, with their one-time links, are written to this log instead of sent',
    );
    return logMailer(logger);
  }
  try {
    const mailer = smtpMailer(config.smtp, { from: config.mailFrom ?? '' });
    logger.info({ smtp: redactUrl(config.smtp) }, 'mail goes out over SMTP');
    return mailer;
  } catch (error) {
    throw new StartupError(`cannot use --smtp: ${why(error)}`);
  }
}

/**
 * `--admin-email`: an address without an account gets an admin invitation on every start
 * (a new one supersedes the last, so only the newest link works); an address with an
 * account is left alone. The link is logged, and mailed when there is an SMTP mailer.
 */
async function inviteAdmins(auth: Auth, emails: readonly string[], logger: Logger): Promise<void> {
  for (const email of emails) {
    try {
      const { link, expiresAt } = await auth.invite({ email, roles: ['admin'] });
      logger.warn(
        { email, link, expiresAt: new Date(expiresAt).toISOString() },
        'admin invitation: open the link to create the admin account (an earlier link no longer works)',
      );
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EMAIL_TAKEN') {
        logger.info({ email }, 'admin email already has an account: no invitation');
      } else {
        throw new StartupError(`cannot invite --admin-email ${email}: ${why(error)}`);
      }
    }
  }
}

/**
 * Builds the reference server (Fastify + the notbefore plugin) and starts listening. Mailed
 * links need the server's URL before it listens; with `--port 0` and no `--public-url` a free
 * port is chosen first (and chosen again should another process take it meanwhile).
 */
export async function serve(
  config: ServeConfig,
  logger: Logger,
  onListening: (url: string) => void = () => {},
): Promise<RunningServer> {
  if (config.publicUrl !== undefined || config.port !== 0) {
    const publicUrl = config.publicUrl ?? ownUrl(config.host, config.port);
    return start(config, publicUrl, logger, onListening);
  }
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort(config.host);
    try {
      return await start({ ...config, port }, ownUrl(config.host, port), logger, onListening);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

async function start(
  config: ServeConfig,
  publicUrl: string,
  logger: Logger,
  onListening: (url: string) => void,
): Promise<RunningServer> {
  const store = await openStore(config.db);
  let feed: RevocationFeed | undefined;
  let auth: Auth | undefined;
  let app: { close(): PromiseLike<unknown> } | undefined;
  const cleanup = async (): Promise<void> => {
    await Promise.resolve(app?.close()).catch(() => {});
    await auth?.close().catch(() => {});
    await feed?.close().catch(() => {});
    await store.close().catch(() => {});
  };
  try {
    const keys = await loadKeys(config, store, logger);
    const csrfSecret = Buffer.from(
      await store.getOrCreateSecret(CSRF_SECRET, randomBytes(32).toString('base64url')),
      'base64url',
    );
    feed = await openFeed(config, logger);
    const mailer = await openMailer(config, logger);
    auth = createAuth({
      store,
      ...(feed === undefined ? {} : { feed }),
      ...(keys === undefined ? {} : { keys }),
      ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
      ...(config.accessTokenTtl === undefined ? {} : { accessTokenTtl: config.accessTokenTtl }),
      ...(config.maxStaleness === undefined ? {} : { maxStaleness: config.maxStaleness }),
      failOpen: config.failOpen,
      mailer,
      publicUrl,
      requireVerifiedEmail: config.requireVerifiedEmail,
      onError: (error) => logger.warn({ err: error }, 'background work failed'),
    });
    try {
      await withTimeout(auth.ready(), 'loading keys and revocations');
    } catch (error) {
      throw new StartupError(`cannot start: ${why(error)}`);
    }
    const { failOpen } = auth.options;
    const metrics = createMetrics(
      {
        revocations: { stats: () => auth!.revocationStatus().entries },
        ...(feed === undefined ? {} : { feed }),
      },
      { processMetrics: true },
    );
    const instrumented = instrumentAuth(auth, metrics);
    const fastify = Fastify({ loggerInstance: logger, return503OnClosing: true, frameworkErrors });
    app = fastify;
    await fastify.register(notbefore, {
      auth: instrumented,
      csrfSecret,
      metrics,
      trustProxy: config.trustProxy,
      rateLimit: config.rateLimit,
      webRoot: fileURLToPath(new URL('../../web', import.meta.url)),
      onError: (error) => logger.error({ err: error }, 'unexpected error'),
      health: () => failOpen || instrumented.revocationStatus().current,
    });
    let address: string;
    try {
      address = await fastify.listen({ port: config.port, host: config.host });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EADDRINUSE')
        throw new PortTaken(`port ${config.port} is already in use (try --port)`);
      if (code === 'EADDRNOTAVAIL') throw new StartupError(`cannot bind to host ${config.host}`);
      if (code === 'EACCES')
        throw new StartupError(`no permission to listen on port ${config.port}`);
      throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${why(error)}`);
    }
    // Announced before the invitations, whose links are only useful once it listens.
    onListening(address);
    await inviteAdmins(auth, config.adminEmails, logger);
    return { url: address, close: cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
