import { createHmac, verify as cryptoVerify, type KeyObject, timingSafeEqual } from 'node:crypto';
import { systemClock } from '../src/clock.js';
import { AuthError } from '../src/errors.js';
import { createAccessTokenVerifier } from '../src/tokens/verify.js';
import {
  AUDIENCE,
  type BenchAlg,
  ISSUER,
  type KeyFixture,
  keyFixture,
  revocationListOf,
  signTokens,
} from './fixtures.js';
import { type Peer, type RunOptions, runScenario, type ScenarioResult } from './harness.js';
import { type NaiveStores, openNaiveStores } from './naive.js';

export interface VerifySuiteOptions extends RunOptions {
  /** Distinct tokens in the rotation workload. */
  rotation: number;
  /** Live entries in notbefore's revocation list. */
  revocations: number;
}

export interface VerifySuiteResult {
  scenarios: ScenarioResult[];
  gaps: string[];
}

type Verify = (token: string) => unknown;

/**
 * The floor: what any verifier must at least do — split, check the MAC or signature,
 * decode and parse the claims, compare alg, exp, iss and aud. No typ, no duplicate-key
 * guard, no canonical base64url check, no revocation.
 */
function floorVerifier(alg: BenchAlg, key: KeyObject): Verify {
  const check =
    alg === 'HS256'
      ? (input: string, sig: Buffer) => {
          const mac = createHmac('sha256', key).update(input).digest();
          return sig.length === mac.length && timingSafeEqual(mac, sig);
        }
      : (input: string, sig: Buffer) => cryptoVerify(null, Buffer.from(input), key, sig);
  return (token) => {
    const a = token.indexOf('.');
    const b = token.indexOf('.', a + 1);
    if (a < 0 || b < 0 || token.indexOf('.', b + 1) >= 0) throw new Error('malformed');
    if (!check(token.slice(0, b), Buffer.from(token.slice(b + 1), 'base64url'))) {
      throw new Error('bad signature');
    }
    const header = JSON.parse(Buffer.from(token.slice(0, a), 'base64url').toString('utf8'));
    if (header.alg !== alg) throw new Error('alg');
    const claims = JSON.parse(Buffer.from(token.slice(a + 1, b), 'base64url').toString('utf8'));
    if (!(claims.exp * 1000 > Date.now()) || claims.iss !== ISSUER || claims.aud !== AUDIENCE) {
      throw new Error('claims');
    }
    return claims;
  };
}

function peerOf(name: string, tokens: readonly string[], verify: Verify, note?: string): Peer {
  const n = tokens.length;
  const peer: Peer = { name, op: (i) => verify(tokens[i % n]!) };
  if (note !== undefined) peer.note = note;
  return peer;
}

async function peersFor(
  fixture: KeyFixture,
  tokens: readonly string[],
  options: VerifySuiteOptions,
  naive: NaiveStores,
): Promise<{ peers: Peer[]; proveRevocationChecked: () => void }> {
  const { createVerifier } = await import('fast-jwt');
  const jose = await import('jose');
  const { default: jsonwebtoken } = await import('jsonwebtoken');
  const { alg } = fixture;
  const revocation = revocationListOf(options.revocations);
  const nb = createAccessTokenVerifier({
    keyring: fixture.keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock: systemClock,
    revocation,
  });
  const nbUncached = createAccessTokenVerifier({
    keyring: fixture.keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock: systemClock,
    revocation,
    cache: false,
  });
  const fjOptions = {
    key: fixture.peerKey,
    algorithms: [alg],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    checkTyp: 'at+jwt',
  };
  const fastJwtCached = createVerifier({ ...fjOptions, cache: true });
  const fastJwt = createVerifier({ ...fjOptions, cache: false });
  const joseOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg], typ: 'at+jwt' };
  const floor = floorVerifier(alg, fixture.key);
  const n = tokens.length;
  const revocations = `${options.revocations.toLocaleString('en')} live revocations`;
  const peers: Peer[] = [
    peerOf('notbefore verify (cache)', tokens, (t) => nb.verify(t), `+ ${revocations}`),
    peerOf('notbefore verify (no cache)', tokens, (t) => nbUncached.verify(t), `+ ${revocations}`),
    {
      name: 'jose jwtVerify',
      async: true,
      op: (i) => jose.jwtVerify(tokens[i % n]!, fixture.cryptoKey, joseOptions),
      note: 'async API, CryptoKey',
    },
    peerOf('fast-jwt (cache)', tokens, (t) => fastJwtCached(t), 'cache: true (1,000 entries)'),
    peerOf('fast-jwt (no cache)', tokens, (t) => fastJwt(t)),
  ];
  if (alg === 'HS256') {
    // A KeyObject: given the raw Buffer, jsonwebtoken 9 is ~30× slower per call.
    const secret = fixture.key;
    const jwtOptions = { algorithms: ['HS256' as const], issuer: ISSUER, audience: AUDIENCE };
    peers.push(
      peerOf(
        'jsonwebtoken',
        tokens,
        (t) => jsonwebtoken.verify(t, secret, jwtOptions),
        'secret as a KeyObject; no EdDSA support',
      ),
    );
  }
  peers.push(peerOf('node:crypto floor', tokens, floor, 'hand-written minimum'));
  // Each naive peer has its own fast-jwt cache: a shared one would serve one peer's
  // rotation from another's recent tokens.
  if (naive.sqlite !== undefined) {
    const lookup = naive.sqlite;
    const cached = createVerifier({ ...fjOptions, cache: true });
    peers.push(
      peerOf(
        'naive: fast-jwt (cache) + SQLite SELECT',
        tokens,
        (t) => {
          const claims = cached(t) as { sub: string; iat: number };
          if (claims.iat * 1000 < lookup(claims.sub)) throw new Error('revoked');
          return claims;
        },
        '100,000 users, WAL',
      ),
    );
  }
  if (naive.postgres !== undefined) {
    const lookup = naive.postgres;
    const cached = createVerifier({ ...fjOptions, cache: true });
    peers.push({
      name: 'naive: fast-jwt (cache) + PostgreSQL SELECT',
      async: true,
      op: async (i) => {
        const claims = cached(tokens[i % n]!) as { sub: string; iat: number };
        if (claims.iat * 1000 < (await lookup(claims.sub))) throw new Error('revoked');
        return claims;
      },
      note: '100,000 users, loopback',
    });
  }
  // Every peer must accept the tokens, or the numbers would compare different work.
  for (const peer of peers) await peer.op(0);
  // After the timing, the warm (cached) verifier must still consult the list.
  const proveRevocationChecked = (): void => {
    revocation.apply({ kind: 'global', at: Date.now() + 1 });
    for (const verifier of [nb, nbUncached]) {
      try {
        verifier.verify(tokens[0]!);
      } catch (error) {
        if (error instanceof AuthError && error.code === 'TOKEN_REVOKED') continue;
        throw error;
      }
      throw new Error('bench: notbefore accepted a revoked token; its numbers are void');
    }
  };
  return { peers, proveRevocationChecked };
}

export async function verifySuite(
  options: VerifySuiteOptions,
  log: (line: string) => void,
): Promise<VerifySuiteResult> {
  const gaps: string[] = [];
  const naive = await openNaiveStores(log);
  gaps.push(...naive.gaps);
  const scenarios: ScenarioResult[] = [];
  try {
    for (const alg of ['HS256', 'EdDSA'] as const) {
      const fixture = await keyFixture(alg);
      log(`  signing ${options.rotation.toLocaleString('en')} ${alg} tokens…`);
      const tokens = signTokens(fixture, options.rotation);
      const workloads = [
        { id: 'repeated', title: 'same token repeated', tokens: tokens.slice(0, 1) },
        {
          id: 'rotation',
          title: `${options.rotation.toLocaleString('en')} distinct tokens in rotation`,
          tokens,
        },
      ];
      for (const workload of workloads) {
        const { peers, proveRevocationChecked } = await peersFor(
          fixture,
          workload.tokens,
          options,
          naive,
        );
        scenarios.push(
          await runScenario(
            `verify-${alg}-${workload.id}`,
            `Verify ${alg}, ${workload.title}`,
            peers,
            options,
            log,
          ),
        );
        proveRevocationChecked();
      }
    }
  } finally {
    await naive.close();
  }
  return { scenarios, gaps };
}
