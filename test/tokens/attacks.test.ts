/**
 * JWT-ATTACKS.md, section by section: every concrete token is rejected (or, where the
 * catalog says so, accepted) with the expected code, and each claim-level case is also
 * rebuilt on a complete notbefore claim set so it fails for the reason the section names.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { manualClock } from '../../src/clock.js';
import type { AuthErrorCode } from '../../src/errors.js';
import { createJwsVerifier } from '../../src/tokens/jws.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createSigner } from '../../src/tokens/sign.js';
import type { Jwk } from '../../src/tokens/types.js';
import { createAccessTokenVerifier } from '../../src/tokens/verify.js';
import { ATTACK_TOKENS } from './attack-tokens.js';
import {
  AT_HEADER,
  AUDIENCE,
  b64,
  codeOf,
  fullClaims,
  good,
  hsToken,
  ISSUER,
  K_HS_JWK,
  kHsKeyring,
  kHsVerifier,
  macToken,
  T0,
  vector,
} from './helpers.js';

type Outcome = AuthErrorCode | 'accepted';
const rfc = vector<{ tests: { id: string; public_key?: Jwk; jws?: string }[] }>(
  'rfc/rfc_jose_examples.json',
).tests;
const publicKey = (id: string) => rfc.find((t) => t.id === id)?.public_key as Jwk;
const K_RSA = publicKey('rfc7515-A.2');
const K_EC = publicKey('rfc7515-A.3');
const K_ED = publicKey('rfc8037-A.4');

const rsaKeyring = () => Keyring.fromPublicJwks({ keys: [K_RSA] }, { verifyOnly: ['RS256'] });
const ecKeyring = () => Keyring.fromPublicJwks({ keys: [K_EC] });
const edKeyring = () => Keyring.fromPublicJwks({ keys: [K_ED] });

/** Outcome at the JWS layer; the access-token verifier must reject the token as well. */
function jwsCode(keyring: Keyring, token: string): Outcome {
  const full = createAccessTokenVerifier({
    keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock: manualClock(T0),
  });
  expect(codeOf(() => full.verify(token))).not.toBe('accepted');
  return codeOf(() => createJwsVerifier(keyring)(token));
}

/** Outcome of the full access-token verifier (K_HS keyring, clock at T0). */
function fullCode(token: string): Outcome {
  return codeOf(() => kHsVerifier().verify(token));
}

/** Runs one section's table and proves no token of the section went untested. */
function section<S extends keyof typeof ATTACK_TOKENS>(
  id: S,
  expected: Record<keyof (typeof ATTACK_TOKENS)[S], Outcome>,
  run: (token: string) => Outcome,
): void {
  const tokens = ATTACK_TOKENS[id] as Record<string, string>;
  const table = expected as Record<string, Outcome>;
  it('covers every concrete token of the section', () => {
    expect(Object.keys(table).sort()).toEqual(Object.keys(tokens).sort());
  });
  for (const [name, token] of Object.entries(tokens)) {
    it(`${name} → ${table[name]}`, () => {
      expect(run(token)).toBe(table[name]);
    });
  }
}

describe('§1 Unsecured tokens: alg none and its spellings', () => {
  section(
    's1',
    {
      none: 'TOKEN_ALG_NOT_ALLOWED',
      None: 'TOKEN_ALG_NOT_ALLOWED',
      NONE: 'TOKEN_ALG_NOT_ALLOWED',
      nOnE: 'TOKEN_ALG_NOT_ALLOWED',
      'none + leftover signature': 'TOKEN_ALG_NOT_ALLOWED',
      'no alg (MAC-valid)': 'TOKEN_MALFORMED',
      'alg "" (MAC-valid)': 'TOKEN_ALG_NOT_ALLOWED',
      'alg null (MAC-valid)': 'TOKEN_MALFORMED',
      'alg ["HS256"] (MAC-valid)': 'TOKEN_MALFORMED',
      'alg "hs256" (MAC-valid)': 'TOKEN_ALG_NOT_ALLOWED',
    },
    (token) => jwsCode(kHsKeyring(), token),
  );

  it('none is refused on a full claim set, and "none" is not a key algorithm', () => {
    const payload = b64(JSON.stringify(fullClaims()));
    expect(fullCode(`${b64('{"alg":"none","typ":"at+jwt"}')}.${payload}.`)).toBe(
      'TOKEN_ALG_NOT_ALLOWED',
    );
    expect(() => Keyring.fromJwks({ keys: [{ ...K_HS_JWK, alg: 'none' }] })).toThrow();
    expect(() => Keyring.generate('none' as 'HS256')).toThrow();
  });
});

describe('§2 Algorithm confusion: a public key used as an HMAC secret', () => {
  const keyringFor = (name: string) =>
    name.startsWith('K_RSA') ? rsaKeyring() : name.startsWith('K_EC') ? ecKeyring() : edKeyring();
  const all: Record<keyof typeof ATTACK_TOKENS.s2, Outcome> = {
    'K_RSA as SPKI PEM text incl. final "\\n"': 'TOKEN_ALG_NOT_ALLOWED',
    'K_RSA as SPKI PEM text, no final newline': 'TOKEN_ALG_NOT_ALLOWED',
    'K_RSA as "\\n" + SPKI PEM (leading-ws bypass)': 'TOKEN_ALG_NOT_ALLOWED',
    'K_RSA as PKCS#1 PEM ("BEGIN RSA PUBLIC KEY")': 'TOKEN_ALG_NOT_ALLOWED',
    'K_RSA as SPKI DER bytes': 'TOKEN_ALG_NOT_ALLOWED',
    'K_RSA as compact JWK JSON {"kty","n","e"}': 'TOKEN_ALG_NOT_ALLOWED',
    'K_EC as SPKI PEM text': 'TOKEN_ALG_NOT_ALLOWED',
    'K_EC as uncompressed point 04||x||y': 'TOKEN_ALG_NOT_ALLOWED',
    'K_ED as raw 32 bytes': 'TOKEN_ALG_NOT_ALLOWED',
    'K_ED as SPKI PEM text': 'TOKEN_ALG_NOT_ALLOWED',
  };
  for (const [name, token] of Object.entries(ATTACK_TOKENS.s2)) {
    it(`${name} → ${all[name as keyof typeof all]} against the key's own keyring`, () => {
      expect(jwsCode(keyringFor(name), token)).toBe(all[name as keyof typeof all]);
    });
  }
  it('a public-key keyring never holds an HMAC secret: mixing the families throws', () => {
    expect(() => Keyring.fromJwks({ keys: [K_HS_JWK, K_EC] })).toThrow();
    expect(() => Keyring.generate('EdDSA').rotate('HS256')).toThrow();
  });
});

describe('§3 Algorithm / key mismatch (closed algorithm set, exact names)', () => {
  it('the header alg must equal the kid’s pinned alg', () => {
    const ed = Keyring.generate('EdDSA');
    const es = Keyring.generate('ES256');
    const mixed = Keyring.fromJwks({
      keys: [...ed.toPrivateJwks().keys, ...es.toPublicJwks().keys],
    });
    const payload = b64(JSON.stringify(fullClaims()));
    const header = b64(JSON.stringify({ alg: 'ES256', kid: ed.signingKid, typ: 'at+jwt' }));
    const sig = Buffer.alloc(64).toString('base64url');
    expect(jwsCode(mixed, `${header}.${payload}.${sig}`)).toBe('TOKEN_ALG_NOT_ALLOWED');
  });

  it('"Ed25519" (RFC 9864 name) is not accepted in place of "EdDSA"', () => {
    const keyring = Keyring.generate('EdDSA');
    const header = b64(JSON.stringify({ alg: 'Ed25519', kid: keyring.signingKid }));
    expect(
      jwsCode(keyring, `${header}.${b64('{}')}.${Buffer.alloc(64).toString('base64url')}`),
    ).toBe('TOKEN_ALG_NOT_ALLOWED');
  });

  it('RS256 key with a PS256 header, and RSA without the opt-in, are refused', () => {
    const a2 = rfc.find((t) => t.id === 'rfc7515-A.2')?.jws as string;
    const [, payload, sig] = a2.split('.');
    expect(jwsCode(rsaKeyring(), `${b64('{"alg":"PS256"}')}.${payload}.${sig}`)).toBe(
      'TOKEN_ALG_NOT_ALLOWED',
    );
    expect(() => Keyring.fromPublicJwks({ keys: [K_RSA] })).toThrow();
  });

  it('JWK alg, curve and kty must agree; Ed448 and X25519 keys are refused', () => {
    expect(() => Keyring.fromPublicJwks({ keys: [{ ...K_EC, alg: 'EdDSA' }] })).toThrow();
    expect(() => Keyring.fromPublicJwks({ keys: [{ ...K_ED, alg: 'ES256' }] })).toThrow();
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }) as Jwk;
    const ed448 = generateKeyPairSync('ed448').publicKey.export({ format: 'jwk' }) as Jwk;
    expect(() => Keyring.fromPublicJwks({ keys: [x25519] })).toThrow();
    expect(() => Keyring.fromPublicJwks({ keys: [ed448] })).toThrow();
  });
});

describe('§4 Keys supplied by the token: jwk, jku, x5u, x5c', () => {
  section(
    's4',
    {
      'jwk = K_ATT public': 'TOKEN_MALFORMED',
      'jku = attacker URL': 'TOKEN_MALFORMED',
      'x5u = attacker URL': 'TOKEN_MALFORMED',
    },
    (token) => jwsCode(rsaKeyring(), token),
  );

  it('x5c, x5t and a jwk naming our own key are refused too; verify never returns a promise', () => {
    const keyring = kHsKeyring();
    for (const extra of [
      { x5c: ['MIIB'] },
      { x5t: 'abc' },
      { 'x5t#S256': 'abc' },
      { jwk: K_HS_JWK },
    ]) {
      const token = good({}, { ...AT_HEADER, ...extra });
      expect(jwsCode(keyring, token)).toBe('TOKEN_MALFORMED');
    }
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const result = codeOf(() => kHsVerifier().verify(ATTACK_TOKENS.s4['jku = attacker URL']));
    expect(result).not.toBe('accepted');
    expect(fetchSpy).not.toHaveBeenCalled();
    fetchSpy.mockRestore();
  });
});

describe('§5 kid injection', () => {
  section(
    's5',
    {
      'kid ../../../../../../dev/null, HMAC key = empty': 'TOKEN_KEY_UNKNOWN',
      "kid x' UNION SELECT '1';--, HMAC key = \"1\"": 'TOKEN_KEY_UNKNOWN',
      // Decision: a kid that is present must name a key, even on a one-key keyring.
      'kid key1|/usr/bin/id (MAC-valid)': 'TOKEN_KEY_UNKNOWN',
      'kid 0 (number, MAC-valid)': 'TOKEN_MALFORMED',
      'kid {"$ne":null} (MAC-valid)': 'TOKEN_MALFORMED',
      'kid __proto__, HMAC key = empty': 'TOKEN_KEY_UNKNOWN',
    },
    (token) => jwsCode(kHsKeyring(), token),
  );

  it('constructor / toString kids are unknown; onUnknownKid hears the kid; long kids are refused', () => {
    const heard: string[] = [];
    const verifier = kHsVerifier({ onUnknownKid: (kid) => heard.push(kid) });
    for (const kid of ['constructor', 'toString', 'hasOwnProperty']) {
      expect(codeOf(() => verifier.verify(good({}, { ...AT_HEADER, kid })))).toBe(
        'TOKEN_KEY_UNKNOWN',
      );
    }
    expect(heard).toEqual(['constructor', 'toString', 'hasOwnProperty']);
    expect(codeOf(() => verifier.verify(good({}, { ...AT_HEADER, kid: 'k'.repeat(257) })))).toBe(
      'TOKEN_MALFORMED',
    );
    const throwing = kHsVerifier({
      onUnknownKid: () => {
        throw new Error('hook failed');
      },
    });
    expect(codeOf(() => throwing.verify(good({}, { ...AT_HEADER, kid: 'nope' })))).toBe(
      'TOKEN_KEY_UNKNOWN',
    );
  });
});

describe('§6 crit (critical header parameters)', () => {
  section(
    's6',
    {
      'crit ["urn:example:policy"] + member present': 'TOKEN_MALFORMED',
      'crit []': 'TOKEN_MALFORMED',
      'crit "exp" (not an array)': 'TOKEN_MALFORMED',
      'crit ["alg"] (registered name)': 'TOKEN_MALFORMED',
      'crit lists a member that is absent': 'TOKEN_MALFORMED',
      'crit ["__proto__"] (member "absent")': 'TOKEN_MALFORMED',
    },
    (token) => jwsCode(kHsKeyring(), token),
  );
});

describe('§7 b64: false (RFC 7797)', () => {
  section(
    's7',
    { b64_false_compact: 'TOKEN_MALFORMED', b64_false_no_crit: 'TOKEN_MALFORMED' },
    (token) => jwsCode(kHsKeyring(), token),
  );
  it('b64: true is refused as well (JWTs carry no b64 member at all)', () => {
    expect(fullCode(good({}, { ...AT_HEADER, b64: true }))).toBe('TOKEN_MALFORMED');
  });
});

describe('§8 ECDSA (ES256): psychic signatures and malformed signatures', () => {
  section(
    's8',
    {
      'r = s = 0 (64 zero bytes)': 'TOKEN_SIGNATURE_INVALID',
      'r = s = n': 'TOKEN_SIGNATURE_INVALID',
      'RFC 7515 A.3 signature re-encoded as DER': 'TOKEN_SIGNATURE_INVALID',
      'RFC 7515 A.3 signature truncated to 63 bytes': 'TOKEN_SIGNATURE_INVALID',
      // Mathematically valid (ECDSA is malleable): must be accepted.
      'RFC 7515 A.3 with s replaced by n\u2212s ("high-s")': 'accepted',
    },
    (token) => jwsCode(ecKeyring(), token),
  );
});

describe('§9 Ed25519 edge cases', () => {
  section('s9', { 'S + L': 'TOKEN_SIGNATURE_INVALID' }, (token) => jwsCode(edKeyring(), token));
  it('the unmodified RFC 8037 token verifies; signatures of 63 or 65 bytes are refused', () => {
    const original = rfc.find((t) => t.id === 'rfc8037-A.4')?.jws as string;
    expect(jwsCode(edKeyring(), original)).toBe('accepted');
    const [h, p, s] = original.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    expect(jwsCode(edKeyring(), `${h}.${p}.${sig.subarray(0, 63).toString('base64url')}`)).toBe(
      'TOKEN_SIGNATURE_INVALID',
    );
    expect(
      jwsCode(
        edKeyring(),
        `${h}.${p}.${Buffer.concat([sig, Buffer.alloc(1)]).toString('base64url')}`,
      ),
    ).toBe('TOKEN_SIGNATURE_INVALID');
  });
  it('a verification key carrying d is refused in a public JWKS', () => {
    const ed = Keyring.generate('EdDSA').toPrivateJwks();
    expect(() => Keyring.fromPublicJwks(ed)).toThrow();
  });
});

describe('§10 RS256: PKCS#1 v1.5 forgeries and weak RSA keys', () => {
  it('keys under 2048 bits, exponents under 65537 and ROCA moduli are refused', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      format: 'jwk',
    }) as Jwk;
    expect(() => Keyring.fromPublicJwks({ keys: [small] }, { verifyOnly: ['RS256'] })).toThrow();
    expect(() =>
      Keyring.fromPublicJwks({ keys: [{ ...K_RSA, e: 'Aw' }] }, { verifyOnly: ['RS256'] }),
    ).toThrow();
    expect(() =>
      Keyring.fromPublicJwks({ keys: [{ ...K_RSA, e: 'AQ' }] }, { verifyOnly: ['RS256'] }),
    ).toThrow();
    expect(() =>
      Keyring.fromPublicJwks({ keys: [K_RSA] }, { verifyOnly: ['RS256'], minRsaBits: 3072 }),
    ).toThrow();
    // The Wycheproof JWK/JWS RSA suites (wycheproof.test.ts) run the 213 padding variants.
  });
  it('a signature one byte short of the modulus is refused before RSA runs', () => {
    const a2 = rfc.find((t) => t.id === 'rfc7515-A.2')?.jws as string;
    const [h, p, s] = a2.split('.') as [string, string, string];
    const short = Buffer.from(s, 'base64url').subarray(1).toString('base64url');
    expect(jwsCode(rsaKeyring(), `${h}.${p}.${short}`)).toBe('TOKEN_SIGNATURE_INVALID');
  });
});

describe('§11 Signature stripping, null signatures, empty secrets', () => {
  section(
    's11',
    {
      'RS256 header, empty signature': 'TOKEN_SIGNATURE_INVALID',
      'two segments only': 'TOKEN_MALFORMED',
      "HS256 MAC'ed with the empty key": 'TOKEN_ALG_NOT_ALLOWED',
    },
    (token) => jwsCode(rsaKeyring(), token),
  );
  it("HS256 MAC'ed with the empty key fails the signature under K_HS; empty keys never load", () => {
    expect(jwsCode(kHsKeyring(), ATTACK_TOKENS.s11["HS256 MAC'ed with the empty key"])).toBe(
      'TOKEN_SIGNATURE_INVALID',
    );
    expect(() => Keyring.fromJwks({ keys: [{ kty: 'oct', k: '' }] })).toThrow();
    expect(() => Keyring.fromJwks({ keys: [] })).toThrow();
    expect(() => Keyring.fromPublicJwks({ keys: [] })).toThrow();
  });
});

describe('§12 Weak or short HMAC secrets', () => {
  it('secret, password, the empty string and 31 random bytes are refused; 32 bytes load', () => {
    for (const secret of ['secret', 'password', '', 'notbefore', 'x'.repeat(31)]) {
      expect(() => Keyring.fromJwks({ keys: [{ kty: 'oct', k: b64(secret) }] })).toThrow();
    }
    expect(
      Keyring.fromJwks({ keys: [{ kty: 'oct', k: Buffer.alloc(32, 7).toString('base64url') }] })
        .canSign,
    ).toBe(true);
    const generated = Keyring.generate('HS256').toPrivateJwks().keys[0] as Jwk;
    expect(Buffer.from(generated.k as string, 'base64url')).toHaveLength(32);
  });
});

describe('§13 Duplicate JSON member names (header and claims)', () => {
  section(
    's13',
    {
      'header {"alg":"none","alg":"HS256"}': 'TOKEN_MALFORMED',
      'header {"alg":"HS256","alg":"none"}': 'TOKEN_MALFORMED',
      'claims {"sub":"user","sub":"admin",...}': 'TOKEN_MALFORMED',
      'claims {"sub":"user","s\\u0075b":"admin",...}': 'TOKEN_MALFORMED',
    },
    fullCode,
  );
  it('duplicates are refused on complete claim sets, nested too', () => {
    const claims = JSON.stringify(fullClaims());
    expect(fullCode(hsToken(AT_HEADER, claims))).toBe('accepted');
    expect(fullCode(hsToken(AT_HEADER, claims.replace('{', '{"sub":"admin",')))).toBe(
      'TOKEN_MALFORMED',
    );
    expect(fullCode(hsToken(AT_HEADER, claims.replace('{', '{"x":{"a":1,"\\u0061":2},')))).toBe(
      'TOKEN_MALFORMED',
    );
    expect(fullCode(hsToken('{"alg":"HS256","typ":"at+jwt","typ":"at+jwt"}', claims))).toBe(
      'TOKEN_MALFORMED',
    );
  });
});

describe('§14 Non-canonical base64url', () => {
  const a1 = rfc.find((t) => t.id === 'rfc7515-A.1')?.jws as string;
  section(
    's14',
    {
      '"=" appended to the signature': 'TOKEN_MALFORMED',
      'last signature char k->l (same bytes, unused bits set)': 'TOKEN_MALFORMED',
      'A.2 signature in the standard alphabet (+ and /)': 'TOKEN_MALFORMED',
      'payload segment with "=" (MAC computed over it)': 'TOKEN_MALFORMED',
    },
    (token) =>
      jwsCode(token.startsWith('eyJhbGciOiJSUzI1NiJ9') ? rsaKeyring() : kHsKeyring(), token),
  );
  it('newline inside the token (A.1 with "\\n" after the second dot), and spaces', () => {
    const dot = a1.lastIndexOf('.');
    expect(jwsCode(kHsKeyring(), a1)).toBe('accepted');
    expect(jwsCode(kHsKeyring(), `${a1.slice(0, dot + 1)}\n${a1.slice(dot + 1)}`)).toBe(
      'TOKEN_MALFORMED',
    );
    expect(jwsCode(kHsKeyring(), ` ${a1}`)).toBe('TOKEN_MALFORMED');
    expect(jwsCode(kHsKeyring(), `${a1} `)).toBe('TOKEN_MALFORMED');
  });
});

describe('§15 Malformed structure and text encoding', () => {
  section(
    's15',
    {
      'header is [ "HS256" ]': 'TOKEN_MALFORMED',
      'header is null': 'TOKEN_MALFORMED',
      'claims []': 'TOKEN_MALFORMED',
      'claims null': 'TOKEN_MALFORMED',
      'claims "admin"': 'TOKEN_MALFORMED',
      'claims 4102444800': 'TOKEN_MALFORMED',
      'claims with bytes C0 AF': 'TOKEN_MALFORMED',
      'claims followed by "x"': 'TOKEN_MALFORMED',
      'claims preceded by a UTF-8 BOM': 'TOKEN_MALFORMED',
      // Decision: lone surrogates are refused (in names and values).
      'claims with "\\ud800"': 'TOKEN_MALFORMED',
    },
    fullCode,
  );
  it('a surrogate pair written as escapes is fine; a lone one in a role is not', () => {
    expect(
      fullCode(
        hsToken(AT_HEADER, JSON.stringify(fullClaims()).replace('"user"]', '"\\ud83d\\ude00"]')),
      ),
    ).toBe('accepted');
    expect(
      fullCode(hsToken(AT_HEADER, JSON.stringify(fullClaims()).replace('"user"]', '"\\udc00"]'))),
    ).toBe('TOKEN_MALFORMED');
  });
  it('JSON serialization and extra segments are refused (Wycheproof JWS 13–15, 17)', () => {
    const token = good();
    expect(fullCode(`${token}.`)).toBe('TOKEN_MALFORMED');
    expect(fullCode(`${token}.${token.split('.')[2]}`)).toBe('TOKEN_MALFORMED');
    const [protectedHeader, payload, signature] = token.split('.');
    expect(fullCode(JSON.stringify({ protected: protectedHeader, payload, signature }))).toBe(
      'TOKEN_MALFORMED',
    );
  });
});

describe('§16 Oversized tokens and deeply nested JSON', () => {
  it('a 10 MB token, 10^6 dots and a 1 MB kid fail on length before any decoding', () => {
    const verifier = kHsVerifier();
    const started = performance.now();
    expect(codeOf(() => verifier.verify('a'.repeat(10 * 1024 * 1024)))).toBe('TOKEN_MALFORMED');
    expect(codeOf(() => verifier.verify('.'.repeat(1_000_000)))).toBe('TOKEN_MALFORMED');
    expect(
      codeOf(() => verifier.verify(good({}, { ...AT_HEADER, kid: 'k'.repeat(1 << 20) }))),
    ).toBe('TOKEN_MALFORMED');
    const crit = Array.from({ length: 100_000 }, (_, i) => `c${i}`);
    expect(codeOf(() => verifier.verify(good({}, { ...AT_HEADER, crit })))).toBe('TOKEN_MALFORMED');
    expect(performance.now() - started).toBeLessThan(1000);
  });
  it('deep nesting inside the length limit neither recurses nor throws another error', () => {
    const verifier = kHsVerifier({ maxTokenLength: 65_536 });
    const depth = 20_000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    expect(codeOf(() => verifier.verify(hsToken(AT_HEADER, nested)))).toBe('TOKEN_MALFORMED');
    const inClaims = JSON.stringify(fullClaims()).replace('{', `{"deep":${nested},`);
    const claims = verifier.verify(hsToken(AT_HEADER, inClaims)) as unknown as { deep: unknown };
    expect(Object.isFrozen(claims.deep)).toBe(true);
  });
  it('the default limit is 8192 characters and is configurable within 256–65536', () => {
    const verifier = kHsVerifier();
    const padded = good({ pad: 'x'.repeat(7000) });
    expect(padded.length).toBeGreaterThan(8192);
    expect(codeOf(() => verifier.verify(padded))).toBe('TOKEN_MALFORMED');
    expect(codeOf(() => kHsVerifier({ maxTokenLength: 16_384 }).verify(padded))).toBe('accepted');
    expect(() => kHsVerifier({ maxTokenLength: 100 })).toThrow();
    expect(() => kHsVerifier({ maxTokenLength: 1 << 20 })).toThrow();
  });
});

describe('§17 exp / nbf / iat edge cases', () => {
  section(
    's17',
    {
      'exp "4102444800" (string)': 'TOKEN_CLAIM_INVALID',
      'exp null': 'TOKEN_CLAIM_INVALID',
      'exp true': 'TOKEN_CLAIM_INVALID',
      'exp [4102444800]': 'TOKEN_CLAIM_INVALID',
      'exp {}': 'TOKEN_CLAIM_INVALID',
      'exp 1e400 (-> Infinity)': 'TOKEN_CLAIM_INVALID',
      'exp -1': 'TOKEN_CLAIM_INVALID',
      'exp 1300819380.5 (past)': 'TOKEN_CLAIM_INVALID',
      'exp 4102444800.5 (future)': 'TOKEN_CLAIM_INVALID',
      'exp 9007199254740993 (>2^53)': 'TOKEN_CLAIM_INVALID',
      'nbf 4102444800 (future)': 'TOKEN_CLAIM_INVALID',
      'nbf {}': 'TOKEN_CLAIM_INVALID',
      'iat 4102444800 (future)': 'TOKEN_CLAIM_INVALID',
    },
    // The catalog's claim sets are not access tokens (no typ, iss, sid…): all refused.
    fullCode,
  );

  const raw = (exp: string, extra = '') =>
    hsToken(
      AT_HEADER,
      JSON.stringify(fullClaims({ exp: 0 })).replace('"exp":0', `"exp":${exp}${extra}`),
    );
  it.each([
    ['exp "4102444800" (string)', raw('"4102444800"'), 'TOKEN_CLAIM_INVALID'],
    ['exp null', raw('null'), 'TOKEN_CLAIM_INVALID'],
    ['exp true', raw('true'), 'TOKEN_CLAIM_INVALID'],
    ['exp [4102444800]', raw('[4102444800]'), 'TOKEN_CLAIM_INVALID'],
    ['exp {}', raw('{}'), 'TOKEN_CLAIM_INVALID'],
    ['exp 1e400 (-> Infinity)', raw('1e400'), 'TOKEN_CLAIM_INVALID'],
    ['exp -1', raw('-1'), 'TOKEN_CLAIM_INVALID'],
    ['exp absent', hsToken(AT_HEADER, { ...fullClaims(), exp: undefined }), 'TOKEN_CLAIM_INVALID'],
    ['exp 1300819380.5 (past)', raw('1300819380.5'), 'TOKEN_EXPIRED'],
    ['exp 4102444800.5 (future, a legal fraction)', raw('4102444800.5'), 'accepted'],
    ['exp 9007199254740993 (>2^53, no crash)', raw('9007199254740993'), 'accepted'],
    ['nbf 4102444800 (future)', good({ nbf: 4102444800 }), 'TOKEN_NOT_YET_VALID'],
    ['nbf {}', good({ nbf: {} }), 'TOKEN_CLAIM_INVALID'],
    ['nbf "0"', good({ nbf: '0' }), 'TOKEN_CLAIM_INVALID'],
    ['iat 4102444800 (future)', good({ iat: 4102444800 }), 'TOKEN_NOT_YET_VALID'],
    ['iat null', good({ iat: null }), 'TOKEN_CLAIM_INVALID'],
    ['auth_time "x"', good({ auth_time: 'x' }), 'TOKEN_CLAIM_INVALID'],
  ] as const)('on a complete claim set: %s → %s', (_name, token, expected) => {
    expect(fullCode(token)).toBe(expected);
  });
});

describe('§18 Claim type confusion and prototype pollution', () => {
  section(
    's18',
    {
      'sub 1': 'TOKEN_CLAIM_INVALID',
      'sub {"$ne":""}': 'TOKEN_CLAIM_INVALID',
      'iss ["https://evil.example","https://issuer.example"]': 'TOKEN_CLAIM_INVALID',
      'aud 1': 'TOKEN_CLAIM_INVALID',
      'claims {"sub":"user","__proto__":{"admin":true},...}': 'TOKEN_MALFORMED',
    },
    fullCode,
  );
  it.each([
    ['sub 1', { sub: 1 }, 'TOKEN_CLAIM_INVALID'],
    ['sub {"$ne":""}', { sub: { $ne: '' } }, 'TOKEN_CLAIM_INVALID'],
    ['sub ""', { sub: '' }, 'TOKEN_CLAIM_INVALID'],
    ['iss [evil, ours]', { iss: ['https://evil.example', ISSUER] }, 'TOKEN_CLAIM_INVALID'],
    ['iss with a suffix', { iss: `${ISSUER}.evil` }, 'TOKEN_CLAIM_INVALID'],
    ['aud 1', { aud: 1 }, 'TOKEN_CLAIM_INVALID'],
    ['aud substring "ap"', { aud: 'ap' }, 'TOKEN_CLAIM_INVALID'],
    ['aud superstring "apix"', { aud: 'apix' }, 'TOKEN_CLAIM_INVALID'],
    ['aud [other, 1]', { aud: ['other', 1] }, 'TOKEN_CLAIM_INVALID'],
    ['aud []', { aud: [] }, 'TOKEN_CLAIM_INVALID'],
    ['aud [other, api] (exact element)', { aud: ['other', AUDIENCE] }, 'accepted'],
    ['sid 7', { sid: 7 }, 'TOKEN_CLAIM_INVALID'],
    ['jti []', { jti: [] }, 'TOKEN_CLAIM_INVALID'],
    ['roles "admin"', { roles: 'admin' }, 'TOKEN_CLAIM_INVALID'],
    ['roles [1]', { roles: [1] }, 'TOKEN_CLAIM_INVALID'],
  ] as const)('on a complete claim set: %s → %s', (_name, claims, expected) => {
    expect(fullCode(good(claims as Record<string, unknown>))).toBe(expected);
  });
  it('__proto__ anywhere in the claims is refused; returned claims are frozen', () => {
    const text = JSON.stringify(fullClaims()).replace('{', '{"x":{"__proto__":{"admin":true}},');
    expect(fullCode(hsToken(AT_HEADER, text))).toBe('TOKEN_MALFORMED');
    const header = '{"alg":"HS256","typ":"at+jwt","__proto__":{"kid":"x"}}';
    expect(fullCode(hsToken(header, fullClaims()))).toBe('TOKEN_MALFORMED');
    const claims = kHsVerifier().verify(good());
    expect(Object.isFrozen(claims)).toBe(true);
    expect(Object.isFrozen(claims.roles)).toBe(true);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe('§19 Cross-token confusion (typ, iss, aud)', () => {
  it.each([
    ['typ refresh+jwt', { alg: 'HS256', typ: 'refresh+jwt' }, 'TOKEN_CLAIM_INVALID'],
    ['typ JWT', { alg: 'HS256', typ: 'JWT' }, 'TOKEN_CLAIM_INVALID'],
    ['typ absent', { alg: 'HS256' }, 'TOKEN_CLAIM_INVALID'],
    ['typ 1', { alg: 'HS256', typ: 1 }, 'TOKEN_CLAIM_INVALID'],
    ['typ application/jwt', { alg: 'HS256', typ: 'application/jwt' }, 'TOKEN_CLAIM_INVALID'],
    ['typ at+jwt', { alg: 'HS256', typ: 'at+jwt' }, 'accepted'],
    ['typ application/at+jwt', { alg: 'HS256', typ: 'application/at+jwt' }, 'accepted'],
    ['typ AT+JWT (media types ignore case)', { alg: 'HS256', typ: 'AT+JWT' }, 'accepted'],
  ] as const)('%s → %s', (_name, header, expected) => {
    expect(fullCode(good({}, header))).toBe(expected);
  });
  it('a genuine token for another audience or issuer is refused', () => {
    expect(fullCode(good({ aud: 'other-service' }))).toBe('TOKEN_CLAIM_INVALID');
    expect(fullCode(good({ iss: 'https://other.example' }))).toBe('TOKEN_CLAIM_INVALID');
    expect(fullCode(good({ aud: undefined }))).toBe('TOKEN_CLAIM_INVALID');
  });
});

describe('§20 Key sets, key selection and caching', () => {
  it('ambiguous key sets are refused at load (mixed families, duplicate kid, use enc, AES)', () => {
    const ec = Keyring.generate('ES256').toPublicJwks().keys[0] as Jwk;
    expect(() => Keyring.fromJwks({ keys: [{ ...K_HS_JWK, kid: 'a' }, ec] })).toThrow();
    expect(() =>
      Keyring.fromJwks({
        keys: [
          { ...K_HS_JWK, kid: 'a' },
          { ...K_HS_JWK, kid: 'a' },
        ],
      }),
    ).toThrow();
    expect(() => Keyring.fromJwks({ keys: [{ ...K_HS_JWK, use: 'enc' }] })).toThrow();
    expect(() => Keyring.fromJwks({ keys: [{ ...K_HS_JWK, alg: 'A256GCM' }] })).toThrow();
    expect(() => Keyring.fromJwks({ keys: [{ ...K_HS_JWK, key_ops: ['encrypt'] }] })).toThrow();
  });
  it('the kid selects one key: no trying other keys, no kid on a multi-key ring is unknown', () => {
    const keyring = Keyring.generate('EdDSA');
    const clock = manualClock(T0);
    const signer = createSigner({ keyring, issuer: ISSUER, audience: AUDIENCE, ttl: 900, clock });
    const oldKid = keyring.signingKid;
    const { token } = signer.sign({ sub: 'u', sid: 's', roles: [], authTime: T0 });
    const newKid = keyring.rotate(undefined, T0);
    const [h, p, s] = token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const relabelled = `${b64(JSON.stringify({ ...header, kid: newKid }))}.${p}.${s}`;
    expect(jwsCode(keyring, relabelled)).toBe('TOKEN_SIGNATURE_INVALID');
    const noKid = `${b64(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt' }))}.${p}.${s}`;
    expect(jwsCode(keyring, noKid)).toBe('TOKEN_KEY_UNKNOWN');
    expect(oldKid).not.toBe(newKid);
  });
  it('the cache is keyed on the whole token: a different token never gets a cached answer', () => {
    const clock = manualClock(T0);
    const verifier = createAccessTokenVerifier({
      keyring: kHsKeyring(),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock,
    });
    const a = good({ sub: 'alice' });
    const b = good({ sub: 'bob' });
    expect(verifier.verify(a).sub).toBe('alice');
    expect(verifier.verify(b).sub).toBe('bob');
    const [h, p] = a.split('.');
    const forged = `${h}.${p}.${b.split('.')[2]}`;
    expect(codeOf(() => verifier.verify(forged))).toBe('TOKEN_SIGNATURE_INVALID');
    expect(verifier.verify(a).sub).toBe('alice');
  });
});

describe('§21 Timing side channel in MAC comparison', () => {
  it('11.2.4 tags of the wrong length are refused without another exception; MACs compare in constant time', () => {
    const [h, p, s] = good().split('.') as [string, string, string];
    const tag = Buffer.from(s, 'base64url');
    for (const bad of [
      tag.subarray(0, 31),
      Buffer.concat([tag, Buffer.alloc(1)]),
      Buffer.alloc(0),
      tag.subarray(0, 16),
    ]) {
      expect(fullCode(`${h}.${p}.${bad.toString('base64url')}`)).toBe('TOKEN_SIGNATURE_INVALID');
    }
    const source = readFileSync(new URL('../../src/tokens/algorithms.ts', import.meta.url), 'utf8');
    expect(source).toContain('timingSafeEqual(hmac.digest(), signature)');
    expect(source).not.toMatch(/digest\([^)]*\)\s*===|===\s*[a-z]*\.digest/);
  });
});

describe('§22 Order of checks', () => {
  it('a bad signature is reported before any claim problem (ASVS 9.1.1)', () => {
    const [h, p] = good(
      { iss: 'https://evil.example', exp: 1 },
      { alg: 'HS256', typ: 'JWT' },
    ).split('.');
    const wrongMac = macToken(h as string, p as string, Buffer.alloc(32, 1)).split('.')[2];
    expect(fullCode(`${h}.${p}.${wrongMac}`)).toBe('TOKEN_SIGNATURE_INVALID');
  });
});

describe('§14 (Node specific) UTF-16 units above 0xFF read by their low byte', () => {
  it('a payload character c replaced by U+0100+c (e.g. "q" by "ű") is refused', () => {
    const token = good();
    const [h, p, s] = token.split('.') as [string, string, string];
    const twin = String.fromCharCode(0x100 + p.charCodeAt(5));
    expect(
      Buffer.from(`${p.slice(0, 5)}${twin}${p.slice(6)}`, 'base64url').equals(
        Buffer.from(p, 'base64url'),
      ),
    ).toBe(true);
    const sneaky = `${h}.${p.slice(0, 5)}${twin}${p.slice(6)}.${s}`;
    expect(fullCode(token)).toBe('accepted');
    expect(fullCode(sneaky)).toBe('TOKEN_MALFORMED');
  });
});
