import { AuthError } from '../errors.js';
import { decodeBase64url } from './base64url.js';
import { parseJsonObject } from './json.js';
import type { KeyRecord } from './jwk.js';
import type { Keyring } from './keyring.js';

/** What the JWS layer hands to the JWT layer once the signature has been checked. */
export interface VerifiedJws {
  /** The header's `typ`, unchecked: the JWT layer decides (after the signature). */
  readonly typ: unknown;
  readonly payload: Buffer;
  readonly kid: string;
}

interface HeaderResult {
  readonly record: KeyRecord;
  readonly typ: unknown;
}

/** Header members that carry or point to a key: never fetched, never trusted (§4). */
const KEY_CARRYING_MEMBERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'] as const;
const MAX_KID_LENGTH = 256;
/** Distinct valid headers are few (one per kid and typ spelling); bound the memo anyway. */
const HEADER_MEMO_MAX = 64;

function fail(
  code:
    | 'TOKEN_MALFORMED'
    | 'TOKEN_ALG_NOT_ALLOWED'
    | 'TOKEN_KEY_UNKNOWN'
    | 'TOKEN_SIGNATURE_INVALID',
  message: string,
): never {
  throw new AuthError(code, message);
}

export interface JwsVerifierOptions {
  onUnknownKid?: ((kid: string) => void) | undefined;
}

/**
 * Compact JWS verification in the order of JWT-ATTACKS.md §22: exactly three segments,
 * each canonical base64url; the header decoded and judged (alg in the keyring's set,
 * no embedded keys, no crit, no b64, kid an exact Map lookup, the key's pinned alg equal
 * to the header's); then the signature over the exact received bytes. The payload is
 * only decoded, never parsed, here. The caller checks the token is a string within the
 * length limit. Throws AuthError only.
 *
 * Parsed headers are memoised per header segment text: every token signed by one key
 * shares one header, so the hot path skips its base64url decode and JSON parse
 * (≈1 µs per uncached verify on the project machine). The memo is rebuilt whenever the
 * keyring's version changes, so a pruned kid stops verifying at once.
 */
export function createJwsVerifier(keyring: Keyring, options: JwsVerifierOptions = {}) {
  const onUnknownKid = options.onUnknownKid;
  // A notification hook must not turn a rejection into another exception type.
  function notifyUnknownKid(kid: string): void {
    try {
      onUnknownKid?.(kid);
    } catch {
      // ignored on purpose: verify throws AuthError only
    }
  }
  let version = -1;
  let keys: ReadonlyMap<string, KeyRecord> = new Map();
  let onlyKey: KeyRecord | undefined;
  let algs = new Set<string>();
  const memo = new Map<string, HeaderResult>();

  function refresh(): void {
    if (keyring.version === version) return;
    version = keyring.version;
    keys = keyring.verificationKeys();
    onlyKey = keys.size === 1 ? [...keys.values()][0] : undefined;
    algs = new Set([...keys.values()].map((record) => record.alg));
    memo.clear();
  }

  function readHeader(segment: string): HeaderResult {
    const bytes = decodeBase64url(segment);
    if (bytes === null) fail('TOKEN_MALFORMED', 'Token header is not canonical base64url');
    const header = parseJsonObject(bytes);
    if (header === null) fail('TOKEN_MALFORMED', 'Token header is not a JSON object');
    const alg = header.alg;
    if (typeof alg !== 'string') fail('TOKEN_MALFORMED', 'Token header has no alg');
    if (!algs.has(alg)) fail('TOKEN_ALG_NOT_ALLOWED', 'Token algorithm is not allowed');
    for (const member of KEY_CARRYING_MEMBERS) {
      if (Object.hasOwn(header, member)) fail('TOKEN_MALFORMED', 'Token header carries a key');
    }
    // No extension is understood, so any crit is unmet (RFC 7515 §4.1.11); RFC 7797
    // forbids b64 in JWTs.
    if (Object.hasOwn(header, 'crit')) fail('TOKEN_MALFORMED', 'Token header has crit');
    if (Object.hasOwn(header, 'b64')) fail('TOKEN_MALFORMED', 'Token header has b64');
    let record: KeyRecord | undefined;
    if (Object.hasOwn(header, 'kid')) {
      const kid = header.kid;
      if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
        fail('TOKEN_MALFORMED', 'Token kid is not a short string');
      }
      record = keys.get(kid);
      if (record === undefined) {
        notifyUnknownKid(kid);
        fail('TOKEN_KEY_UNKNOWN', 'Token key id is unknown');
      }
    } else {
      // Without a kid only a single-key keyring can answer; never try keys in turn.
      record = onlyKey;
      if (record === undefined) fail('TOKEN_KEY_UNKNOWN', 'Token has no key id');
    }
    if (record.alg !== alg) fail('TOKEN_ALG_NOT_ALLOWED', 'Token algorithm does not match its key');
    return { record, typ: header.typ };
  }

  refresh();
  return function verifyCompact(token: string): VerifiedJws {
    const dot1 = token.indexOf('.');
    const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot2 < 0 || token.indexOf('.', dot2 + 1) !== -1) {
      fail('TOKEN_MALFORMED', 'Token must have three segments');
    }
    refresh();
    const headerSegment = token.slice(0, dot1);
    const memoised = memo.get(headerSegment);
    const header = memoised ?? readHeader(headerSegment);
    const signature = decodeBase64url(token.slice(dot2 + 1));
    if (signature === null) fail('TOKEN_MALFORMED', 'Token signature is not canonical base64url');
    const payload = decodeBase64url(token.slice(dot1 + 1, dot2));
    if (payload === null) fail('TOKEN_MALFORMED', 'Token payload is not canonical base64url');
    if (!header.record.verify(token.slice(0, dot2), signature)) {
      fail('TOKEN_SIGNATURE_INVALID', 'Token signature is invalid');
    }
    // Only headers of genuinely signed tokens are remembered, so forged header variants
    // cannot crowd out the real ones.
    if (memoised === undefined && memo.size < HEADER_MEMO_MAX) memo.set(headerSegment, header);
    return { typ: header.typ, payload, kid: header.record.kid };
  };
}

export type CompactJwsVerifier = ReturnType<typeof createJwsVerifier>;
