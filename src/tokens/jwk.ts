import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type KeyObject,
} from 'node:crypto';
import {
  createSignatureSigner,
  createSignatureVerifier,
  isSigningAlgorithm,
  isVerifyAlgorithm,
  type SignatureSigner,
  type SignatureVerifier,
} from './algorithms.js';
import { decodeBase64url } from './base64url.js';
import { isRocaFingerprint } from './roca.js';
import type { Jwk, VerifyAlgorithm } from './types.js';

/** Private JWK member that keeps a retired key's retirement time (ms) in `--keys FILE`. */
export const RETIRED_AT_MEMBER = 'nb_retired_at';

/** RFC 7518 §3.2: an HS256 key has at least 256 bits. */
export const MIN_HMAC_KEY_BYTES = 32;
/** RFC 7518 §3.3 floor for RS256/PS256; callers may raise it (ASVS 11.2.3 asks for 3072). */
export const MIN_RSA_BITS = 2048;
const MAX_KID_LENGTH = 256;

/** One (kid, algorithm, key) triple, pinned. Immutable: retiring makes a new record. */
export interface KeyRecord {
  readonly kid: string;
  readonly alg: VerifyAlgorithm;
  /** `secret` keys (HS256) are never exported in a public JWKS. */
  readonly family: 'secret' | 'public';
  readonly verify: SignatureVerifier;
  /** Present when this record can sign (a private key, or the HS256 secret). */
  readonly sign: SignatureSigner | undefined;
  /** Public JWK (kid, alg, use included) for asymmetric keys. */
  readonly publicJwk: Jwk | undefined;
  /** The JWK to write to a private JWKS: private members when held, else the public JWK. */
  readonly exportJwk: Jwk;
  readonly retiredAt: number | undefined;
}

export interface ImportOptions {
  /** Algorithms this keyring accepts (signing algorithms plus opted-in verify-only ones). */
  allowed: ReadonlySet<VerifyAlgorithm>;
  minRsaBits: number;
  /** `public`: private members are refused (a verify-only JWKS must not carry secrets). */
  material: 'any' | 'public';
}

class KeyImportError extends Error {
  constructor(index: number, problem: string) {
    super(`JWKS key #${index}: ${problem}`);
    this.name = 'KeyImportError';
  }
}

/**
 * RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
 *
 * @returns The thumbprint, base64url: notbefore's `kid` for a key it generates.
 * @throws Error for a key type other than `oct`, `OKP`, `EC` and `RSA`.
 * @example
 * ```ts
 * import { jwkThumbprint, Keyring } from 'notbefore';
 *
 * const [key] = Keyring.generate('EdDSA').toPublicJwks().keys;
 * if (key !== undefined) console.log(jwkThumbprint(key) === key.kid); // true
 * ```
 */
export function jwkThumbprint(jwk: Jwk): string {
  let canonical: string;
  switch (jwk.kty) {
    case 'oct':
      canonical = JSON.stringify({ k: jwk.k, kty: jwk.kty });
      break;
    case 'OKP':
      canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
      break;
    case 'EC':
      canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
      break;
    case 'RSA':
      canonical = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
      break;
    default:
      throw new Error('unsupported key type for a thumbprint');
  }
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

function bytesMember(jwk: Jwk, name: string, index: number): Buffer {
  const value = jwk[name];
  if (typeof value !== 'string') throw new KeyImportError(index, `member "${name}" is missing`);
  const bytes = decodeBase64url(value);
  if (bytes === null) {
    throw new KeyImportError(index, `member "${name}" is not canonical base64url`);
  }
  return bytes;
}

function optionalBytesMember(jwk: Jwk, name: string, index: number): Buffer | undefined {
  return jwk[name] === undefined ? undefined : bytesMember(jwk, name, index);
}

function checkUsage(jwk: Jwk, index: number): void {
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    throw new KeyImportError(index, '"use" must be "sig"');
  }
  const ops = jwk.key_ops;
  if (ops !== undefined) {
    if (!Array.isArray(ops) || ops.length === 0) {
      throw new KeyImportError(index, '"key_ops" must be a non-empty array');
    }
    for (const op of ops) {
      if (op !== 'sign' && op !== 'verify') {
        throw new KeyImportError(index, '"key_ops" may only list "sign" and "verify"');
      }
    }
    if (!ops.includes('verify') && !ops.includes('sign')) {
      throw new KeyImportError(index, '"key_ops" does not allow signatures');
    }
  }
}

function resolveAlg(
  jwk: Jwk,
  index: number,
  candidates: readonly VerifyAlgorithm[],
  options: ImportOptions,
): VerifyAlgorithm {
  const declared = jwk.alg;
  if (declared !== undefined) {
    if (!isVerifyAlgorithm(declared) || !candidates.includes(declared)) {
      throw new KeyImportError(index, `"alg" does not fit a ${String(jwk.kty)} key here`);
    }
    if (!options.allowed.has(declared)) {
      throw new KeyImportError(index, `algorithm ${declared} is not enabled (verifyOnly)`);
    }
    return declared;
  }
  const enabled = candidates.filter((alg) => options.allowed.has(alg));
  if (enabled.length !== 1 || enabled[0] === undefined) {
    throw new KeyImportError(index, '"alg" is missing and cannot be inferred');
  }
  return enabled[0];
}

function sameBytes(a: string | undefined, b: unknown): boolean {
  return typeof b === 'string' && a === b;
}

function importKey(
  kind: 'public' | 'private',
  jwk: Record<string, string>,
  index: number,
): KeyObject {
  try {
    return kind === 'public'
      ? createPublicKey({ key: jwk, format: 'jwk' })
      : createPrivateKey({ key: jwk, format: 'jwk' });
  } catch {
    throw new KeyImportError(index, `not a valid ${jwk.kty} ${kind} key`);
  }
}

function retiredAtOf(jwk: Jwk, index: number): number | undefined {
  const value = jwk[RETIRED_AT_MEMBER];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new KeyImportError(index, `"${RETIRED_AT_MEMBER}" must be a time in milliseconds`);
  }
  return value;
}

function kidOf(jwk: Jwk, index: number, thumbprintSource: Jwk): string {
  const kid = jwk.kid;
  if (kid === undefined) return jwkThumbprint(thumbprintSource);
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw new KeyImportError(index, `"kid" must be a string of 1–${MAX_KID_LENGTH} characters`);
  }
  return kid;
}

function retiredMember(retiredAt: number | undefined): Jwk {
  return retiredAt === undefined ? {} : { [RETIRED_AT_MEMBER]: retiredAt };
}

/**
 * Validates one JWK and prepares its KeyObject and verify/sign primitives. Every
 * problem throws with a message naming the member, never the key material.
 */
export function importJwk(input: unknown, index: number, options: ImportOptions): KeyRecord {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new KeyImportError(index, 'not a JSON object');
  }
  const jwk = input as Jwk;
  checkUsage(jwk, index);
  const retiredAt = retiredAtOf(jwk, index);
  switch (jwk.kty) {
    case 'oct':
      return importSecret(jwk, index, options, retiredAt);
    case 'OKP':
      return importOkp(jwk, index, options, retiredAt);
    case 'EC':
      return importEc(jwk, index, options, retiredAt);
    case 'RSA':
      return importRsa(jwk, index, options, retiredAt);
    default:
      throw new KeyImportError(index, '"kty" must be oct, OKP, EC or RSA');
  }
}

function importSecret(
  jwk: Jwk,
  index: number,
  options: ImportOptions,
  retiredAt: number | undefined,
): KeyRecord {
  if (options.material === 'public') {
    throw new KeyImportError(index, 'a public JWKS must not contain a symmetric key');
  }
  const alg = resolveAlg(jwk, index, ['HS256'], options);
  const secret = bytesMember(jwk, 'k', index);
  if (secret.length < MIN_HMAC_KEY_BYTES) {
    throw new KeyImportError(index, `an HS256 key needs at least ${MIN_HMAC_KEY_BYTES} bytes`);
  }
  const key = createSecretKey(secret);
  const k = secret.toString('base64url');
  const kid = kidOf(jwk, index, { kty: 'oct', k });
  return {
    kid,
    alg,
    family: 'secret',
    verify: createSignatureVerifier(alg, key),
    sign: createSignatureSigner('HS256', key),
    publicJwk: undefined,
    exportJwk: { kty: 'oct', kid, alg, use: 'sig', k, ...retiredMember(retiredAt) },
    retiredAt,
  };
}

function importOkp(
  jwk: Jwk,
  index: number,
  options: ImportOptions,
  retiredAt: number | undefined,
): KeyRecord {
  if (jwk.crv !== 'Ed25519') throw new KeyImportError(index, 'only the Ed25519 curve is supported');
  const alg = resolveAlg(jwk, index, ['EdDSA'], options);
  if (bytesMember(jwk, 'x', index).length !== 32) {
    throw new KeyImportError(index, 'an Ed25519 "x" is 32 bytes');
  }
  const d = optionalBytesMember(jwk, 'd', index);
  if (d !== undefined && options.material === 'public') {
    throw new KeyImportError(index, 'a public JWKS must not contain private members');
  }
  if (d !== undefined && d.length !== 32)
    throw new KeyImportError(index, 'an Ed25519 "d" is 32 bytes');
  const pub = { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string };
  const publicKey = importKey('public', pub, index);
  const kid = kidOf(jwk, index, pub);
  const publicJwk: Jwk = { ...pub, kid, alg, use: 'sig' };
  let sign: SignatureSigner | undefined;
  let exportJwk = publicJwk;
  if (d !== undefined) {
    const privateKey = importKey('private', { ...pub, d: jwk.d as string }, index);
    const derived = createPublicKey(privateKey).export({ format: 'jwk' });
    if (!sameBytes(pub.x, derived.x)) {
      throw new KeyImportError(index, 'the private key does not match "x"');
    }
    if (isSigningAlgorithm(alg)) sign = createSignatureSigner(alg, privateKey);
    exportJwk = { ...publicJwk, d: jwk.d as string, ...retiredMember(retiredAt) };
  }
  return {
    kid,
    alg,
    family: 'public',
    verify: createSignatureVerifier(alg, publicKey),
    sign,
    publicJwk,
    exportJwk,
    retiredAt,
  };
}

function importEc(
  jwk: Jwk,
  index: number,
  options: ImportOptions,
  retiredAt: number | undefined,
): KeyRecord {
  if (jwk.crv !== 'P-256') throw new KeyImportError(index, 'only the P-256 curve is supported');
  const alg = resolveAlg(jwk, index, ['ES256'], options);
  if (bytesMember(jwk, 'x', index).length !== 32 || bytesMember(jwk, 'y', index).length !== 32) {
    throw new KeyImportError(index, 'P-256 "x" and "y" are 32 bytes each');
  }
  const d = optionalBytesMember(jwk, 'd', index);
  if (d !== undefined && options.material === 'public') {
    throw new KeyImportError(index, 'a public JWKS must not contain private members');
  }
  if (d !== undefined && d.length !== 32)
    throw new KeyImportError(index, 'a P-256 "d" is 32 bytes');
  const pub = { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string };
  // createPublicKey refuses points that are not on the curve (Wycheproof JWK tcId 22).
  const publicKey = importKey('public', pub, index);
  const kid = kidOf(jwk, index, pub);
  const publicJwk: Jwk = { ...pub, kid, alg, use: 'sig' };
  let sign: SignatureSigner | undefined;
  let exportJwk = publicJwk;
  if (d !== undefined) {
    const privateKey = importKey('private', { ...pub, d: jwk.d as string }, index);
    // Node's JWK import keeps the given x/y beside d, so recompute the point from d.
    const point = createECDH('prime256v1');
    try {
      point.setPrivateKey(d);
    } catch {
      throw new KeyImportError(index, 'a P-256 "d" is out of range');
    }
    const expected = Buffer.concat([
      Buffer.from([4]),
      bytesMember(jwk, 'x', index),
      bytesMember(jwk, 'y', index),
    ]);
    if (!point.getPublicKey().equals(expected)) {
      throw new KeyImportError(index, 'the private key does not match "x"/"y"');
    }
    if (isSigningAlgorithm(alg)) sign = createSignatureSigner(alg, privateKey);
    exportJwk = { ...publicJwk, d: jwk.d as string, ...retiredMember(retiredAt) };
  }
  return {
    kid,
    alg,
    family: 'public',
    verify: createSignatureVerifier(alg, publicKey),
    sign,
    publicJwk,
    exportJwk,
    retiredAt,
  };
}

function importRsa(
  jwk: Jwk,
  index: number,
  options: ImportOptions,
  retiredAt: number | undefined,
): KeyRecord {
  const alg = resolveAlg(jwk, index, ['RS256', 'PS256'], options);
  const n = bytesMember(jwk, 'n', index);
  const e = bytesMember(jwk, 'e', index);
  if (n.length === 0 || n[0] === 0) throw new KeyImportError(index, '"n" has a leading zero byte');
  if (e.length === 0 || e[0] === 0 || e.length > 8) {
    throw new KeyImportError(index, '"e" is not a minimal positive integer');
  }
  const bits = n.length * 8 - Math.clz32(n[0] as number) + 24;
  if (bits < options.minRsaBits) {
    throw new KeyImportError(index, `RSA modulus under ${options.minRsaBits} bits`);
  }
  if (isRocaFingerprint(BigInt(`0x${n.toString('hex')}`))) {
    throw new KeyImportError(index, 'RSA modulus has the ROCA weakness (CVE-2017-15361)');
  }
  const exponent = BigInt(`0x${e.toString('hex')}`);
  if (exponent < 65537n || exponent % 2n === 0n) {
    throw new KeyImportError(index, 'RSA public exponent must be odd and at least 65537');
  }
  const hasPrivate = ['d', 'p', 'q', 'dp', 'dq', 'qi'].some((m) => jwk[m] !== undefined);
  if (hasPrivate && options.material === 'public') {
    throw new KeyImportError(index, 'a public JWKS must not contain private members');
  }
  const pub = { kty: 'RSA', n: jwk.n as string, e: jwk.e as string };
  const publicKey = importKey('public', pub, index);
  const kid = kidOf(jwk, index, pub);
  // RS256/PS256 are verify-only (ASVS 11.6.1): private members are dropped, never used.
  const publicJwk: Jwk = { ...pub, kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    family: 'public',
    verify: createSignatureVerifier(alg, publicKey, n.length),
    sign: undefined,
    publicJwk,
    exportJwk: { ...publicJwk, ...retiredMember(retiredAt) },
    retiredAt,
  };
}

/** A copy of `record` retired at `atMs` (its JWK export carries the time). */
export function retireRecord(record: KeyRecord, atMs: number): KeyRecord {
  return {
    ...record,
    retiredAt: atMs,
    exportJwk: { ...record.exportJwk, [RETIRED_AT_MEMBER]: atMs },
  };
}
