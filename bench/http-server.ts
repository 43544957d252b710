/**
 * One Fastify server for the HTTP benchmark, in its own process: `node http-server.js
 * <variant>`. Prints `{"port":…,"token":…}` on stdout once listening, then serves until
 * killed. Every variant answers GET /me with the same small JSON body.
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, randomBytes } from 'node:crypto';
import { systemClock } from '../src/clock.js';
import { Keyring } from '../src/tokens/keyring.js';
import { createSigner } from '../src/tokens/sign.js';
import { AUDIENCE, ISSUER, TTL_SECONDS } from './fixtures.js';
import { HTTP_VARIANTS, type HttpVariant, isEntryPoint } from './http-variants.js';

interface Started {
  port: number;
  token: string;
}

async function startPeer(variant: Exclude<HttpVariant, 'notbefore'>): Promise<Started> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  const keyring = Keyring.generate('EdDSA');
  const signer = createSigner({
    keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    ttl: TTL_SECONDS,
    clock: systemClock,
  });
  const token = signer.sign({
    sub: 'user-1',
    sid: randomBytes(16).toString('base64url'),
    roles: ['user'],
    authTime: Date.now(),
  }).token;
  if (variant === 'none') {
    app.get('/me', async () => ({ sub: 'anonymous' }));
  } else {
    const { default: fastifyJwt } = await import('@fastify/jwt');
    const jwk = keyring.toPrivateJwks().keys[0]!;
    const privateKey = createPrivateKey({ key: { ...jwk } as JsonWebKey, format: 'jwk' });
    const publicKey = createPublicKey(privateKey);
    await app.register(fastifyJwt, {
      secret: {
        private: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        public: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      },
      sign: { algorithm: 'EdDSA' },
      verify: {
        algorithms: ['EdDSA'],
        allowedIss: ISSUER,
        allowedAud: AUDIENCE,
        ...(variant === 'fastify-jwt-cache' ? { cache: true } : {}),
      },
    });
    app.get('/me', {
      preHandler: async (request) => {
        await request.jwtVerify();
      },
      handler: async (request) => ({ sub: (request.user as { sub: string }).sub }),
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, token };
}

async function startNotbefore(): Promise<Started> {
  const { default: Fastify } = await import('fastify');
  const { notbefore } = await import('../src/http/fastify.js');
  const { createAuth } = await import('../src/sessions/auth.js');
  const { sqliteStore } = await import('../src/stores/sqlite.js');
  const auth = createAuth({
    store: sqliteStore(':memory:'),
    keys: Keyring.generate('EdDSA'),
    issuer: ISSUER,
    audience: AUDIENCE,
  });
  await auth.ready();
  const email = 'load-test@example.com';
  const password = randomBytes(18).toString('base64url');
  await auth.signup({ email, password });
  const { accessToken } = await auth.login({ email, password });
  const app = Fastify({ logger: false });
  await app.register(notbefore, { auth, rateLimit: 0 });
  app.get('/me', {
    preHandler: app.authenticate,
    handler: async (request) => ({ sub: request.auth?.sub }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, token: accessToken };
}

const variant = process.argv[2] as HttpVariant | undefined;
if (isEntryPoint(import.meta.url) && variant !== undefined) {
  if (!HTTP_VARIANTS.includes(variant)) throw new Error(`unknown variant ${variant}`);
  const started = variant === 'notbefore' ? await startNotbefore() : await startPeer(variant);
  process.stdout.write(`${JSON.stringify(started)}\n`);
  // A normal exit on SIGTERM, so --cpu-prof and the like can write their output.
  process.once('SIGTERM', () => process.exit(0));
}
