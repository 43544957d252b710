import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isSigningAlgorithm, isVerifyAlgorithm, SIGNING_ALGORITHMS } from './algorithms.js';
import {
  type ImportOptions,
  importJwk,
  type KeyRecord,
  MIN_RSA_BITS,
  retireRecord,
} from './jwk.js';
import type { Jwk, JwkSet, JwkSetInput, SigningAlgorithm, VerifyAlgorithm } from './types.js';

/**
 * How a {@link Keyring} imports keys: the algorithms it accepts beyond the signing ones, and the
 * smallest RSA key.
 */
export interface KeyringOptions {
  /**
   * Extra algorithms accepted for verification only. RS256 and PS256 keys are refused
   * unless listed here (ASVS 11.6.1: PKCS#1 v1.5 is legacy; notbefore never signs with RSA).
   */
  verifyOnly?: readonly VerifyAlgorithm[];
  /** Minimum RSA modulus in bits; default 2048 (RFC 7518 §3.3), may only be raised. */
  minRsaBits?: number;
}

const MAX_KEYS = 64;

function importOptions(
  options: KeyringOptions,
  material: ImportOptions['material'],
): ImportOptions {
  const allowed = new Set<VerifyAlgorithm>(
    material === 'public' ? ['EdDSA', 'ES256'] : SIGNING_ALGORITHMS,
  );
  const verifyOnly = options.verifyOnly ?? [];
  if (!Array.isArray(verifyOnly)) throw new Error('Keyring: verifyOnly must be an array');
  for (const alg of verifyOnly) {
    if (!isVerifyAlgorithm(alg)) throw new Error('Keyring: verifyOnly lists an unknown algorithm');
    allowed.add(alg);
  }
  const minRsaBits = options.minRsaBits ?? MIN_RSA_BITS;
  if (!Number.isSafeInteger(minRsaBits) || minRsaBits < MIN_RSA_BITS) {
    throw new Error(`Keyring: minRsaBits must be an integer of at least ${MIN_RSA_BITS}`);
  }
  return { allowed, minRsaBits, material };
}

function generateJwk(alg: SigningAlgorithm): Jwk {
  switch (alg) {
    case 'HS256':
      // RFC 7518 §3.2 / ASVS 11.2.3: 256 bits from the OS CSPRNG.
      return { kty: 'oct', k: randomBytes(32).toString('base64url'), alg };
    case 'EdDSA':
      return { ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), alg };
    case 'ES256':
      return {
        ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
        alg,
      };
  }
}

/**
 * The access-token keys: `kid` → (algorithm, key), pinned. One active signing key;
 * retired keys keep verifying until `prune` drops them; verify-only keys (a public JWKS,
 * opted-in RS256/PS256) never sign. Lifecycle: generate → active → retired by `rotate`
 * → destroyed by `prune` once every token it signed has expired (ASVS 11.1.1).
 *
 * A keyring holds either one family or the other: shared secrets (HS256, a single
 * service) or public-key pairs — never both, so no key set is ambiguous (Wycheproof JWK
 * tcId 1). The token header never picks the algorithm; the kid picks a key, and the
 * key's algorithm must equal the header's.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { createAuth, Keyring } from 'notbefore';
 *
 * // keys.json from `notbefore keys generate`: the same keys on every instance
 * const keys = Keyring.fromJwks(JSON.parse(readFileSync('keys.json', 'utf8')));
 * const auth = createAuth({ keys, issuer: 'https://auth.example.com' });
 * ```
 */
export class Keyring {
  readonly #options: ImportOptions;
  #records = new Map<string, KeyRecord>();
  #signing: KeyRecord | undefined;
  /** More than one non-retired private key was loaded: verify all, sign with none. */
  #ambiguousSigner = false;
  #version = 1;

  private constructor(options: ImportOptions, records: readonly KeyRecord[]) {
    this.#options = options;
    for (const record of records) this.#add(record);
    this.#check();
  }

  /** A new keyring with one freshly generated signing key (synchronous, node:crypto). */
  static generate(alg: SigningAlgorithm = 'EdDSA', options: KeyringOptions = {}): Keyring {
    if (!isSigningAlgorithm(alg)) {
      throw new Error('Keyring.generate: the algorithm must be EdDSA, ES256 or HS256');
    }
    const opts = importOptions(options, 'any');
    return new Keyring(opts, [importJwk(generateJwk(alg), 0, opts)]);
  }

  /**
   * Loads a private JWKS (as written by `toPrivateJwks`, e.g. `--keys FILE`). The one
   * non-retired key with private material becomes the signing key; public keys verify
   * only. A set with several non-retired private keys still verifies, but cannot sign
   * (signingKid and createSigner throw) until all but one are marked retired.
   */
  static fromJwks(jwks: JwkSetInput, options: KeyringOptions = {}): Keyring {
    const opts = importOptions(options, 'any');
    return new Keyring(opts, readKeys(jwks, opts));
  }

  /** A verify-only keyring from a public JWKS (services that verify but never sign). */
  static fromPublicJwks(jwks: JwkSetInput, options: KeyringOptions = {}): Keyring {
    const opts = importOptions(options, 'public');
    return new Keyring(opts, readKeys(jwks, opts));
  }

  /** kid of the active signing key; throws on a verify-only keyring. */
  get signingKid(): string {
    return this.#signingRecord().kid;
  }

  /** The algorithm of the active signing key; throws on a verify-only keyring. */
  get signingAlg(): SigningAlgorithm {
    const alg = this.#signingRecord().alg;
    if (!isSigningAlgorithm(alg)) throw new Error('Keyring: the signing key cannot sign');
    return alg;
  }

  /** True when this keyring holds an active signing key. */
  get canSign(): boolean {
    return this.#signing !== undefined && !this.#ambiguousSigner;
  }

  /** Bumps on every change, so verifiers can rebuild their kid map with one comparison. */
  get version(): number {
    return this.#version;
  }

  /** kids currently able to verify, in insertion order. */
  get kids(): string[] {
    return [...this.#records.keys()];
  }

  /**
   * A new signing key becomes active; the previous one is retired at `nowMs` and keeps
   * verifying until `prune`. Returns the new kid.
   */
  rotate(alg?: SigningAlgorithm, nowMs: number = Date.now()): string {
    const current = this.#signingRecord();
    const nextAlg = alg ?? this.signingAlg;
    if (!isSigningAlgorithm(nextAlg)) throw new Error('Keyring.rotate: unsupported algorithm');
    if (!Number.isFinite(nowMs)) throw new Error('Keyring.rotate: nowMs must be a time in ms');
    const next = importJwk(generateJwk(nextAlg), this.#records.size, this.#options);
    if (next.family !== current.family) {
      throw new Error('Keyring.rotate: cannot mix HS256 secrets with public-key algorithms');
    }
    this.#records.set(current.kid, retireRecord(current, Math.floor(nowMs)));
    this.#records.set(next.kid, next);
    this.#signing = next;
    this.#ambiguousSigner = false;
    this.#version++;
    return next.kid;
  }

  /**
   * Drops retired keys whose every token has expired: retired at or before
   * `nowMs - maxTokenLifetimeMs`. Include the verifiers' clock skew in
   * `maxTokenLifetimeMs`. Returns the kids removed.
   */
  prune(nowMs: number, maxTokenLifetimeMs: number): string[] {
    if (!Number.isFinite(nowMs) || !Number.isFinite(maxTokenLifetimeMs) || maxTokenLifetimeMs < 0) {
      throw new Error('Keyring.prune: nowMs and maxTokenLifetimeMs must be finite, lifetime ≥ 0');
    }
    const removed: string[] = [];
    for (const [kid, record] of this.#records) {
      if (record.retiredAt !== undefined && record.retiredAt + maxTokenLifetimeMs <= nowMs) {
        this.#records.delete(kid);
        removed.push(kid);
      }
    }
    if (removed.length > 0) this.#version++;
    return removed;
  }

  /** Every key as a private JWKS (signing secrets included): for `--keys FILE` only. */
  toPrivateJwks(): JwkSet {
    return { keys: [...this.#records.values()].map((record) => ({ ...record.exportJwk })) };
  }

  /** Public keys only; never a private or symmetric key. An HS256 keyring exports none. */
  toPublicJwks(): JwkSet {
    const keys: Jwk[] = [];
    for (const record of this.#records.values()) {
      if (record.family === 'public' && record.publicJwk !== undefined) {
        keys.push({ ...record.publicJwk });
      }
    }
    return { keys };
  }

  /** @internal The verification map (kid → pinned record), read by the verifier. */
  verificationKeys(): ReadonlyMap<string, KeyRecord> {
    return this.#records;
  }

  /** @internal The active signing record, read by the signer. */
  signingRecord(): KeyRecord {
    return this.#signingRecord();
  }

  #signingRecord(): KeyRecord {
    if (this.#ambiguousSigner) {
      throw new Error('Keyring: more than one active signing key; mark all but one retired');
    }
    if (this.#signing === undefined) throw new Error('Keyring: this keyring is verify-only');
    return this.#signing;
  }

  #add(record: KeyRecord): void {
    if (this.#records.has(record.kid)) {
      throw new Error('Keyring: two keys share one kid');
    }
    this.#records.set(record.kid, record);
    if (record.sign !== undefined && record.retiredAt === undefined) {
      if (this.#signing !== undefined) this.#ambiguousSigner = true;
      this.#signing = record;
    }
  }

  #check(): void {
    if (this.#records.size === 0) throw new Error('Keyring: no keys');
    const families = new Set([...this.#records.values()].map((record) => record.family));
    if (families.size > 1) {
      throw new Error('Keyring: a key set must not mix HS256 secrets with public keys');
    }
    if (this.#options.material === 'any' && this.#signing === undefined) {
      const hasPrivate = [...this.#records.values()].some((record) => record.sign !== undefined);
      if (hasPrivate) throw new Error('Keyring: every private key is retired; none can sign');
    }
  }
}

function readKeys(jwks: JwkSetInput, options: ImportOptions): KeyRecord[] {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) {
    throw new Error('Keyring: a JWKS is an object with a "keys" array');
  }
  if (jwks.keys.length > MAX_KEYS) throw new Error(`Keyring: more than ${MAX_KEYS} keys`);
  return jwks.keys.map((jwk: unknown, index) => importJwk(jwk, index, options));
}
