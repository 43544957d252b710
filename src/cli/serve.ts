import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { RevocationFeed } from '../feeds/port.js';
import { frameworkErrors, notbefore } from '../http/fastify.js';
import { createMetrics, instrumentAuth } from '../metrics.js';
import { createAuth } from '../sessions/auth.js';
import { AUTH_DEFAULTS } from '../sessions/options.js';
import type { Auth } from '../sessions/types.js';
import type { Store } from '../stores/port.js';
import { Keyring } from '../tokens/keyring.js';
import type { ServeConfig } from './args.js';
import { StartupError } from './errors.js';
import { redactUrl } from './log.js';

export { StartupError };

export interface RunningServer {
  url: string;
  /** Stops accepting, lets in-flight requests finish, then closes auth, feed and store. */
  close(): Promise<void>;
}

/** Same name as createAuth's, so keys made here are the ones it loads (first writer wins). */
const KEYS_SECRET = 'signing-keys';
const CSRF_SECRET = 'csrf-hmac';
const START_TIMEOUT_MS = 20_000;

const why = (error: unknown): string => {
  const e = error as { code?: string; message?: string };
  return e.code ?? e.message?.split('\n', 1)[0] ?? String(error);
};

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StartupError(`${what} timed out`)), START_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function openStore(config: ServeConfig): Promise<Store> {
  const where = config.db.kind === 'sqlite' ? config.db.path : redactUrl(config.db.url);
  try {
    let store: Store;
    if (config.db.kind === 'sqlite') {
      const { sqliteStore } = await import('../stores/sqlite.js');
      store = sqliteStore(config.db.path === ':memory:' ? ':memory:' : config.db.path);
    } else {
      const { postgresStore } = await import('../stores/postgres.js');
      store = postgresStore(config.db.url);
    }
    await withTimeout(store.init(), `connecting to the database ${where}`);
    return store;
  } catch (error) {
    throw new StartupError(`cannot open the database ${where}: ${why(error)}`);
  }
}

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
  if (config.redis === undefined) return undefined;
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

/** Builds the reference server (Fastify + the notbefore plugin) and starts listening. */
export async function serve(config: ServeConfig, logger: Logger): Promise<RunningServer> {
  const store = await openStore(config);
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
    auth = createAuth({
      store,
      ...(feed === undefined ? {} : { feed }),
      ...(keys === undefined ? {} : { keys }),
      ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
      ...(config.accessTokenTtl === undefined ? {} : { accessTokenTtl: config.accessTokenTtl }),
      ...(config.maxStaleness === undefined ? {} : { maxStaleness: config.maxStaleness }),
      failOpen: config.failOpen,
      adminEmails: config.adminEmails,
      ...(config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl }),
      onError: (error) => logger.warn({ err: error }, 'background revocation work failed'),
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
        throw new StartupError(`port ${config.port} is already in use (try --port)`);
      if (code === 'EADDRNOTAVAIL') throw new StartupError(`cannot bind to host ${config.host}`);
      if (code === 'EACCES')
        throw new StartupError(`no permission to listen on port ${config.port}`);
      throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${why(error)}`);
    }
    return { url: address, close: cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
