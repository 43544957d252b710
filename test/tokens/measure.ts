/**
 * Side-by-side verify timing (not a test, never a gate): `npx tsx test/tokens/measure.ts`.
 * Runs notbefore, jose, fast-jwt and a minimal node:crypto floor on the same token in one
 * process, in short interleaved bursts, and prints mean ns/op and the ratio to the
 * floor. The full benchmark lives in bench/.
 */
import { createHmac, createPublicKey, verify as cryptoVerify, timingSafeEqual } from 'node:crypto';
import { createVerifier as fastJwtVerifier } from 'fast-jwt';
import { importJWK, jwtVerify } from 'jose';
import { manualClock } from '../../src/clock.js';
import { createAccessTokenVerifier, createSigner, Keyring } from '../../src/tokens/index.js';

const clock = manualClock(Date.now());
const revoked = new Map<string, number>();
for (let i = 0; i < 10_000; i++) revoked.set(`user-${i}`, i);
const revocation = {
  check: (sub: string, sid: string, jti: string, iatMs: number) =>
    (revoked.get(sub) ?? -1) > iatMs || revoked.has(sid) || revoked.has(jti)
      ? ('user' as const)
      : null,
};

function floorVerifier(alg: 'HS256' | 'EdDSA', key: Buffer | ReturnType<typeof createPublicKey>) {
  return (token: string) => {
    const [h, p, s] = token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    if (header.alg !== alg) throw new Error('alg');
    const sig = Buffer.from(s, 'base64url');
    const data = token.slice(0, h.length + p.length + 1);
    const ok =
      alg === 'HS256'
        ? timingSafeEqual(
            createHmac('sha256', key as Buffer)
              .update(data)
              .digest(),
            sig,
          )
        : cryptoVerify(null, Buffer.from(data), key as ReturnType<typeof createPublicKey>, sig);
    if (!ok) throw new Error('sig');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    if (claims.exp * 1000 <= Date.now()) throw new Error('exp');
    return claims;
  };
}

async function time(fn: () => unknown, iterations: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const r = fn();
    if (r instanceof Promise) await r;
  }
  return Number(process.hrtime.bigint() - start) / iterations;
}

async function run(alg: 'HS256' | 'EdDSA', burst: number, rounds: number) {
  const keyring = Keyring.generate(alg);
  const signer = createSigner({
    keyring,
    issuer: 'https://auth.example',
    audience: 'api',
    ttl: 900,
    clock,
  });
  const { token } = signer.sign({
    sub: 'user-42',
    sid: 'sid-abc',
    roles: ['user'],
    authTime: clock.now(),
  });
  const common = { keyring, issuer: 'https://auth.example', audience: 'api', clock, revocation };
  const nbCached = createAccessTokenVerifier(common);
  const nbUncached = createAccessTokenVerifier({ ...common, cache: false });
  const jwk = keyring.toPrivateJwks().keys[0]!;
  const { d: _private, ...publicJwk } = jwk;
  const joseKey = await importJWK(
    (alg === 'HS256' ? jwk : publicJwk) as Parameters<typeof importJWK>[0],
    alg,
  );
  const fjKey =
    alg === 'HS256'
      ? Buffer.from(jwk.k as string, 'base64url')
      : createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string }, format: 'jwk' })
          .export({ format: 'pem', type: 'spki' })
          .toString();
  const fjCached = fastJwtVerifier({ key: fjKey, algorithms: [alg], cache: true });
  const fjUncached = fastJwtVerifier({ key: fjKey, algorithms: [alg] });
  const floor = floorVerifier(
    alg,
    alg === 'HS256'
      ? Buffer.from(jwk.k as string, 'base64url')
      : createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string }, format: 'jwk' }),
  );
  // A fresh string per call, as a request header would give (no hash cached in the string).
  const fresh = () => (token + ' ').slice(0, -1);
  const cases: Record<string, () => unknown> = {
    'node:crypto floor': () => floor(fresh()),
    'notbefore uncached (+revocation)': () => nbUncached.verify(fresh()),
    'fast-jwt uncached': () => fjUncached(fresh()),
    'notbefore cached (+revocation)': () => nbCached.verify(fresh()),
    'fast-jwt cached': () => fjCached(fresh()),
  };
  // jose is async: interleaving its promise garbage with the synchronous peers made every
  // synchronous peer except the floor ~40% slower in this script, so it runs on its own.
  const joseCase = () => jwtVerify(fresh(), joseKey, { algorithms: [alg] });
  // Short interleaved bursts, so load changes on a shared machine hit every peer alike.
  const totals: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const name of Object.keys(cases)) {
    totals[name] = 0;
    counts[name] = 0;
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(cases)) {
      const n = name.includes('cached (') || name === 'fast-jwt cached' ? burst * 4 : burst;
      totals[name] = (totals[name] ?? 0) + (await time(fn, n)) * n;
      counts[name] = (counts[name] ?? 0) + n;
    }
  }
  totals['jose jwtVerify (run separately)'] = (await time(joseCase, burst * 20)) * burst * 20;
  counts['jose jwtVerify (run separately)'] = burst * 20;
  const perOp = (name: string) => (totals[name] ?? 0) / (counts[name] ?? 1);
  const floorNs = perOp('node:crypto floor');
  console.log(`\n${alg} (token ${token.length} chars), ${rounds} interleaved rounds, ns/op:`);
  for (const name of Object.keys(totals)) {
    const ns = perOp(name);
    console.log(
      `  ${name.padEnd(34)} ${ns.toFixed(0).padStart(8)}   ${(floorNs / ns).toFixed(2)}× floor`,
    );
  }
}

await run('HS256', 500, 200);
await run('EdDSA', 20, 100);
