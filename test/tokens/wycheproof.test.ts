/**
 * Every Wycheproof vector that applies to notbefore's algorithms (vectors/SOURCES.md):
 * the JOSE-level files through the JWS layer and the key import, the primitive files
 * through the same verify primitives the keyring prepares. Counts are printed at the end.
 */
import { createPublicKey, createSecretKey } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { createSignatureVerifier } from '../../src/tokens/algorithms.js';
import { type ImportOptions, importJwk } from '../../src/tokens/jwk.js';
import { createJwsVerifier } from '../../src/tokens/jws.js';
import { Keyring } from '../../src/tokens/keyring.js';
import type { Jwk, JwkSet } from '../../src/tokens/types.js';
import { createAccessTokenVerifier } from '../../src/tokens/verify.js';
import { codeOf, vector } from './helpers.js';

interface Test {
  tcId: number;
  comment: string;
  result: 'valid' | 'invalid' | 'acceptable';
  flags?: string[];
  jws?: unknown;
  jwe?: unknown;
  msg?: string;
  sig?: string;
  tag?: string;
  key?: string;
}
interface Group {
  comment?: string;
  private?: Jwk | JwkSet;
  publicKeyJwk?: Jwk;
  keyJwk?: Jwk;
  keySize?: number;
  tagSize?: number;
  sha?: string;
  tests: Test[];
}
interface VectorFile {
  numberOfTests: number;
  testGroups: Group[];
}

const counts: Record<string, { accepted: number; rejected: number; skipped: number }> = {};
function count(file: string, outcome: 'accepted' | 'rejected' | 'skipped'): void {
  counts[file] ??= { accepted: 0, rejected: 0, skipped: 0 };
  counts[file][outcome]++;
}

afterAll(() => {
  const lines = Object.entries(counts).map(
    ([file, c]) =>
      `  ${file.padEnd(44)} accepted ${String(c.accepted).padStart(3)}  rejected ${String(c.rejected).padStart(3)}${c.skipped ? `  not applicable ${c.skipped}` : ''}`,
  );
  console.log(`Wycheproof vectors run:\n${lines.join('\n')}`);
});

const RSA_OPTIONS = { verifyOnly: ['RS256', 'PS256'] as const };
const SUPPORTED_HEADER_ALGS = new Set(['HS256', 'ES256', 'EdDSA', 'RS256', 'PS256']);

function keysOf(source: Jwk | JwkSet | undefined): JwkSet {
  if (source === undefined) throw new Error('vector group without a key');
  return Array.isArray((source as JwkSet).keys) ? (source as JwkSet) : { keys: [source as Jwk] };
}

function headerAlg(token: unknown): unknown {
  if (typeof token !== 'string') return undefined;
  try {
    return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')).alg;
  } catch {
    return undefined;
  }
}

/** JWS-layer outcome for one token under one key set (a refused key set rejects all). */
function jwsOutcome(keys: JwkSet, token: unknown): string {
  let keyring: Keyring;
  try {
    keyring = Keyring.fromJwks(keys, { verifyOnly: [...RSA_OPTIONS.verifyOnly] });
  } catch {
    return 'KEY_REFUSED';
  }
  if (typeof token !== 'string' || token.length === 0) return 'TOKEN_MALFORMED';
  const verifyCompact = createJwsVerifier(keyring);
  const code = codeOf(() => verifyCompact(token));
  // The full access-token verifier must reject every vector too (payloads are not
  // claim sets), and with an AuthError only.
  const verifier = createAccessTokenVerifier({
    keyring,
    issuer: 'https://issuer.example',
    audience: 'api',
    clock: manualClock(),
  });
  const full = codeOf(() => verifier.verify(token));
  expect(full).not.toBe('accepted');
  if (code === 'accepted') expect(['TOKEN_MALFORMED', 'TOKEN_CLAIM_INVALID']).toContain(full);
  return code;
}

function runJoseFile(file: string, expectation: (group: Group, test: Test) => boolean | 'skip') {
  const data = vector<VectorFile>(`wycheproof/${file}`);
  let total = 0;
  for (const group of data.testGroups) {
    if (group.tests.every((test) => expectation(group, test) === 'skip')) {
      for (const _test of group.tests) {
        total++;
        count(file, 'skipped');
      }
      continue;
    }
    describe(`${file} group ${group.comment ?? ''}`, () => {
      for (const test of group.tests) {
        total++;
        const expected = expectation(group, test);
        if (expected === 'skip') {
          count(file, 'skipped');
          continue;
        }
        it(`tcId ${test.tcId} ${test.comment} → ${expected ? 'accept' : 'reject'}`, () => {
          const outcome = jwsOutcome(keysOf(group.private), test.jws);
          expect(outcome === 'accepted').toBe(expected);
          count(file, outcome === 'accepted' ? 'accepted' : 'rejected');
        });
      }
    });
  }
  it(`${file}: every test case is accounted for`, () => {
    expect(total).toBe(data.numberOfTests);
  });
}

describe('Wycheproof json_web_signature_test.json', () => {
  // SOURCES.md: 367/370 are byte-identical to the valid 357 (upstream issue #236);
  // 372/373 carry a "?" inside a segment and must be rejected by a strict verifier.
  const relabelValid = new Set([367, 370]);
  const relabelInvalid = new Set([372, 373]);
  runJoseFile('json_web_signature_test.json', (_group, test) => {
    if (relabelValid.has(test.tcId)) return true;
    if (relabelInvalid.has(test.tcId)) return false;
    // RS384/RS512/PS384/PS512/ES512 are outside the closed algorithm set (§3); tcId 349's
    // key_ops is the single string "sign, verify", refused by the key import.
    if (!SUPPORTED_HEADER_ALGS.has(String(headerAlg(test.jws)))) return false;
    if (test.tcId === 349) return false;
    return test.result === 'valid';
  });
});

describe('Wycheproof json_web_key_test.json', () => {
  runJoseFile('json_web_key_test.json', (_group, test) => {
    // HS384/HS512 keys (tcIds 14, 15) are valid JOSE but not algorithms notbefore accepts.
    if (!SUPPORTED_HEADER_ALGS.has(String(headerAlg(test.jws)))) return false;
    return test.result === 'valid';
  });
});

describe('Wycheproof json_web_crypto_test.json', () => {
  runJoseFile('json_web_crypto_test.json', (group, test) => {
    if (test.jwe !== undefined || group.comment?.startsWith('jwe')) return 'skip';
    return test.result === 'valid';
  });
});

/** Imports a vector's public JWK through the keyring's validation (placeholder kid dropped). */
function importPublic(jwk: Jwk, alg: 'ES256' | 'EdDSA' | 'RS256'): ReturnType<typeof importJwk> {
  const options: ImportOptions = {
    allowed: new Set([alg]),
    minRsaBits: 2048,
    material: 'public',
  };
  const { kid: _placeholder, ...rest } = jwk;
  return importJwk({ ...rest, alg }, 0, options);
}

/** Some groups carry only DER: convert it to a JWK so the same import path is used. */
function publicJwkOf(group: Group): Jwk {
  if (group.publicKeyJwk !== undefined) return group.publicKeyJwk;
  const der = (group as unknown as { publicKeyDer: string }).publicKeyDer;
  return createPublicKey({ key: Buffer.from(der, 'hex'), format: 'der', type: 'spki' }).export({
    format: 'jwk',
  }) as Jwk;
}

function runPrimitive(
  file: string,
  prepare: (group: Group) => ((msg: Buffer, sig: Buffer) => boolean) | null,
  expectation: (group: Group, test: Test) => boolean,
  sigField: 'sig' | 'tag' = 'sig',
) {
  const data = vector<VectorFile>(`wycheproof/${file}`);
  it(`${file}: valid signatures verify, invalid and "acceptable" ones are rejected`, () => {
    let total = 0;
    for (const group of data.testGroups) {
      const verify = prepare(group);
      for (const test of group.tests) {
        total++;
        if (verify === null) {
          count(file, 'skipped');
          continue;
        }
        const ok = verify(
          Buffer.from(test.msg ?? '', 'hex'),
          Buffer.from(test[sigField] ?? '', 'hex'),
        );
        const expected = expectation(group, test);
        if (ok !== expected) {
          throw new Error(
            `${file} tcId ${test.tcId} (${test.comment}): got ${ok}, expected ${expected}`,
          );
        }
        count(file, ok ? 'accepted' : 'rejected');
      }
    }
    expect(total).toBe(data.numberOfTests);
  });
}

describe('Wycheproof primitive files', () => {
  runPrimitive(
    'ecdsa_secp256r1_sha256_p1363_test.json',
    (group) => importPublic(publicJwkOf(group), 'ES256').verify,
    // tcId 1 (high s) is labelled valid: JWS does not forbid malleable ECDSA signatures.
    (_group, test) => test.result === 'valid',
  );
  runPrimitive(
    'ed25519_test.json',
    (group) => importPublic(publicJwkOf(group), 'EdDSA').verify,
    (_group, test) => test.result === 'valid',
  );
  runPrimitive(
    'hmac_sha256_test.json',
    (group) => {
      // The primitive is checked with every key size; the keyring separately refuses
      // keys under 32 bytes (see below).
      const verifiers = new Map<string, ReturnType<typeof createSignatureVerifier>>();
      return (msg, tag) => {
        const test = group.tests.find(
          (t) => t.msg === msg.toString('hex') && t.tag === tag.toString('hex'),
        );
        const keyHex = test?.key ?? '';
        let verify = verifiers.get(keyHex);
        if (verify === undefined) {
          verify = createSignatureVerifier('HS256', createSecretKey(Buffer.from(keyHex, 'hex')));
          verifiers.set(keyHex, verify);
        }
        return verify(msg, tag);
      };
    },
    // Truncated (128-bit) tags are never a valid HS256 signature, whatever the label.
    (group, test) => test.result === 'valid' && group.tagSize === 256,
    'tag',
  );
  for (const size of [2048, 3072, 4096]) {
    runPrimitive(
      `rsa_signature_${size}_sha256_test.json`,
      (group) => {
        const jwk = group.keyJwk as Jwk;
        const key = createPublicKey({
          key: { kty: 'RSA', n: jwk.n as string, e: jwk.e as string },
          format: 'jwk',
        });
        const modulusBytes = Buffer.from(jwk.n as string, 'base64url').length;
        return createSignatureVerifier('RS256', key, modulusBytes);
      },
      // "acceptable" (MissingNull) is rejected, as JWT-ATTACKS.md §10 asks.
      (_group, test) => test.result === 'valid',
    );
  }
  runPrimitive(
    'rsa_pkcs1_2048_sig_gen_test.json',
    (group) => {
      if (group.sha !== 'SHA-256') return null; // other hashes are not RS256
      const key = createPublicKey((group as unknown as { keyPem: string }).keyPem);
      const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
      return createSignatureVerifier('RS256', key, modulusBytes);
    },
    // The SHA-256 signatures are deterministic and correct; "acceptable" ones use small
    // moduli, and the primitive verifies them too (the keyring refuses such keys).
    (_group, test) => test.result === 'valid' || test.result === 'acceptable',
  );
});

describe('Wycheproof keys the keyring refuses by policy', () => {
  it('HMAC keys under 32 bytes (hmac_sha256 keySize 128) throw at construction', () => {
    const data = vector<VectorFile>('wycheproof/hmac_sha256_test.json');
    const shortKeys = data.testGroups.filter((g) => g.keySize === 128).flatMap((g) => g.tests);
    expect(shortKeys.length).toBeGreaterThan(0);
    for (const test of shortKeys) {
      const k = Buffer.from(test.key ?? '', 'hex').toString('base64url');
      expect(() => Keyring.fromJwks({ keys: [{ kty: 'oct', k }] })).toThrow();
    }
  });

  it('RSA keys with e = 3 verify at the primitive level but are refused as keys', () => {
    const data = vector<VectorFile>('wycheproof/rsa_signature_2048_sha256_test.json');
    const smallExponent = data.testGroups.filter((g) => (g.keyJwk as Jwk).e === 'Aw');
    expect(smallExponent.length).toBeGreaterThan(0);
    for (const group of smallExponent) {
      const { kid: _placeholder, ...jwk } = group.keyJwk as Jwk;
      expect(() => Keyring.fromPublicJwks({ keys: [jwk] }, { verifyOnly: ['RS256'] })).toThrow();
    }
  });
});
