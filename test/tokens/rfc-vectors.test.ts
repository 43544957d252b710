/**
 * RFC worked examples (vectors/rfc) and the JOSE cookbook (RFC 7520, RFC 8037): the
 * directly positive cases verify at the JWS layer (and are then refused as access tokens,
 * since their payloads are not notbefore claim sets); deterministic signatures are
 * reproduced byte for byte; everything outside the compact, closed-algorithm profile is
 * rejected.
 */
import { createPrivateKey } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { createSignatureSigner } from '../../src/tokens/algorithms.js';
import { jwkThumbprint } from '../../src/tokens/jwk.js';
import { createJwsVerifier } from '../../src/tokens/jws.js';
import { Keyring, type KeyringOptions } from '../../src/tokens/keyring.js';
import type { Jwk } from '../../src/tokens/types.js';
import { createAccessTokenVerifier } from '../../src/tokens/verify.js';
import { codeOf, vector } from './helpers.js';

interface RfcExample {
  id: string;
  alg?: string | string[];
  key?: Jwk;
  public_key?: Jwk;
  jws?: string;
  jws_json?: unknown;
  jwk_thumbprint_sha256?: string;
}
const rfc = vector<{ tests: RfcExample[] }>('rfc/rfc_jose_examples.json').tests;
function example(id: string): RfcExample {
  const found = rfc.find((t) => t.id === id);
  if (found === undefined) throw new Error(`missing example ${id}`);
  return found;
}

const tally = { accepted: 0, rejected: 0 };
afterAll(() => {
  console.log(`RFC + cookbook examples: accepted ${tally.accepted}, rejected ${tally.rejected}`);
});

const RSA: KeyringOptions = { verifyOnly: ['RS256'] };

/** JWS-layer outcome, and the access-token verifier must reject as well. */
function outcome(keyring: Keyring, token: unknown): string {
  const verifier = createAccessTokenVerifier({
    keyring,
    issuer: 'joe',
    audience: 'api',
    clock: manualClock(Date.UTC(2011, 0, 1)),
  });
  const full = codeOf(() => verifier.verify(token));
  expect(full).not.toBe('accepted');
  const result = typeof token === 'string' ? codeOf(() => createJwsVerifier(keyring)(token)) : full;
  tally[result === 'accepted' ? 'accepted' : 'rejected']++;
  return result;
}

describe('RFC 7515 / 7519 / 8037 / 7638 / 7797 examples', () => {
  it('A.1 HS256 verifies; as an access token its typ "JWT" is refused after the signature', () => {
    const ex = example('rfc7515-A.1');
    const keyring = Keyring.fromJwks({ keys: [ex.key as Jwk] });
    expect(outcome(keyring, ex.jws)).toBe('accepted');
    const verifier = createAccessTokenVerifier({
      keyring,
      issuer: 'joe',
      audience: 'api',
      clock: manualClock(Date.UTC(2011, 0, 1)),
    });
    expect(codeOf(() => verifier.verify(ex.jws))).toBe('TOKEN_CLAIM_INVALID');
  });

  it('A.2 RS256 verifies only when RS256 is opted in', () => {
    const ex = example('rfc7515-A.2');
    expect(outcome(Keyring.fromPublicJwks({ keys: [ex.public_key as Jwk] }, RSA), ex.jws)).toBe(
      'accepted',
    );
    expect(() =>
      Keyring.fromPublicJwks({ keys: [{ ...(ex.public_key as Jwk), alg: 'RS256' }] }),
    ).toThrow();
  });

  it('A.3 ES256 verifies', () => {
    const ex = example('rfc7515-A.3');
    expect(outcome(Keyring.fromPublicJwks({ keys: [ex.public_key as Jwk] }), ex.jws)).toBe(
      'accepted',
    );
  });

  it('A.4 ES512 is outside the algorithm set: its key is refused, its token rejected', () => {
    const ex = example('rfc7515-A.4');
    expect(() => Keyring.fromPublicJwks({ keys: [ex.public_key as Jwk] })).toThrow();
    const es256 = Keyring.fromPublicJwks({ keys: [example('rfc7515-A.3').public_key as Jwk] });
    expect(outcome(es256, ex.jws)).toBe('TOKEN_ALG_NOT_ALLOWED');
  });

  it('A.5 alg none is refused', () => {
    const ex = example('rfc7515-A.5');
    expect(outcome(Keyring.fromJwks({ keys: [example('rfc7515-A.1').key as Jwk] }), ex.jws)).toBe(
      'TOKEN_ALG_NOT_ALLOWED',
    );
  });

  it('A.6 and A.7 JSON serializations are refused, as objects and as text', () => {
    const keyring = Keyring.fromPublicJwks({ keys: [example('rfc7515-A.3').public_key as Jwk] });
    for (const id of ['rfc7515-A.6', 'rfc7515-A.7']) {
      const json = example(id).jws_json;
      expect(outcome(keyring, json)).toBe('TOKEN_MALFORMED');
      expect(outcome(keyring, JSON.stringify(json))).toBe('TOKEN_MALFORMED');
    }
  });

  it('RFC 8037 A.4 Ed25519 verifies, re-signs byte for byte, and its thumbprint is the kid', () => {
    const ex = example('rfc8037-A.4');
    const keyring = Keyring.fromJwks({ keys: [ex.key as Jwk] });
    expect(outcome(keyring, ex.jws)).toBe('accepted');
    const jws = ex.jws as string;
    const input = jws.slice(0, jws.lastIndexOf('.'));
    const key = createPrivateKey({ key: ex.key as Jwk & { kty: string }, format: 'jwk' });
    expect(createSignatureSigner('EdDSA', key)(input).toString('base64url')).toBe(
      jws.slice(jws.lastIndexOf('.') + 1),
    );
    expect(keyring.signingKid).toBe(ex.jwk_thumbprint_sha256);
  });

  it('RFC 7638 §3.1 thumbprint', () => {
    const ex = example('rfc7638-3.1');
    expect(jwkThumbprint(ex.key as Jwk)).toBe(ex.jwk_thumbprint_sha256);
  });

  it('RFC 7797 §4.1 (ordinary JWS, payload "$.02") verifies as JWS, never as an access token', () => {
    const ex = example('rfc7797-4.1');
    expect(outcome(Keyring.fromJwks({ keys: [ex.key as Jwk] }), ex.jws)).toBe('accepted');
  });

  it('RFC 7797 §4.2 (b64:false in crit, detached) is refused before the signature', () => {
    const ex = example('rfc7797-4.2');
    expect(outcome(Keyring.fromJwks({ keys: [ex.key as Jwk] }), ex.jws)).toBe('TOKEN_MALFORMED');
  });
});

interface CookbookExample {
  input: { key: Jwk | Jwk[]; alg: string | string[]; payload: string };
  signing: { 'sig-input'?: string; sig?: string } | unknown[];
  output: { compact?: string; json?: unknown; json_flat?: unknown };
}

describe('JOSE cookbook (RFC 7520, RFC 8037)', () => {
  const cook = (path: string) => vector<CookbookExample>(`jose-cookbook/${path}`);

  it('4.1 RS256 verifies with the opted-in key; JSON forms are refused', () => {
    const ex = cook('jws/4_1.rsa_v15_signature.json');
    const keyring = Keyring.fromJwks({ keys: [ex.input.key as Jwk] }, RSA);
    expect(outcome(keyring, ex.output.compact)).toBe('accepted');
    expect(outcome(keyring, ex.output.json)).toBe('TOKEN_MALFORMED');
    expect(outcome(keyring, JSON.stringify(ex.output.json_flat))).toBe('TOKEN_MALFORMED');
  });

  it('4.2 PS384 and 4.3 ES512 are rejected', () => {
    const rsa = Keyring.fromJwks(
      { keys: [cook('jws/4_1.rsa_v15_signature.json').input.key as Jwk] },
      RSA,
    );
    expect(outcome(rsa, cook('jws/4_2.rsa-pss_signature.json').output.compact)).toBe(
      'TOKEN_ALG_NOT_ALLOWED',
    );
    const es512 = cook('jws/4_3.ecdsa_signature.json');
    expect(() => Keyring.fromJwks({ keys: [es512.input.key as Jwk] })).toThrow();
    expect(outcome(rsa, es512.output.compact)).toBe('TOKEN_ALG_NOT_ALLOWED');
  });

  it('4.4 HS256 verifies and re-signs byte for byte', () => {
    const ex = cook('jws/4_4.hmac-sha2_integrity_protection.json');
    const keyring = Keyring.fromJwks({ keys: [ex.input.key as Jwk] });
    expect(outcome(keyring, ex.output.compact)).toBe('accepted');
    const signing = ex.signing as { 'sig-input': string; sig: string };
    const sign = keyring.signingRecord().sign;
    expect(sign?.(signing['sig-input']).toString('base64url')).toBe(signing.sig);
  });

  it('4.5 detached content is refused by a JWT verifier', () => {
    const ex = cook('jws/4_5.signature_with_detached_content.json');
    const keyring = Keyring.fromJwks({ keys: [ex.input.key as Jwk] });
    expect(outcome(keyring, ex.output.compact)).toBe('TOKEN_SIGNATURE_INVALID');
  });

  it('4.6, 4.7 and 4.8 exist only as JSON serializations: refused', () => {
    const keyring = Keyring.fromJwks({
      keys: [vector<Jwk>('jose-cookbook/jwk/3_5.symmetric_key_mac_computation.json')],
    });
    for (const file of [
      'jws/4_6.protecting_specific_header_fields.json',
      'jws/4_7.protecting_content_only.json',
      'jws/4_8.multiple_signatures.json',
    ]) {
      const ex = cook(file);
      expect(ex.output.compact).toBeUndefined();
      expect(outcome(keyring, ex.output.json)).toBe('TOKEN_MALFORMED');
      expect(outcome(keyring, JSON.stringify(ex.output.json))).toBe('TOKEN_MALFORMED');
    }
  });

  it('RFC 8037 Ed25519 (curve25519/jws.json) verifies and re-signs byte for byte', () => {
    const ex = cook('curve25519/jws.json');
    const keyring = Keyring.fromJwks({ keys: [ex.input.key as Jwk] });
    expect(outcome(keyring, ex.output.compact)).toBe('accepted');
    const signing = ex.signing as { 'sig-input': string; sig: string };
    expect(keyring.signingRecord().sign?.(signing['sig-input']).toString('base64url')).toBe(
      signing.sig,
    );
  });

  it('RFC 7797 b64:false examples are refused', () => {
    const keyring = Keyring.fromJwks({
      keys: [vector<Jwk>('jose-cookbook/jwk/3_5.symmetric_key_mac_computation.json')],
    });
    const compact = cook('rfc7797/hmac-sha2_b64_false.json').output.compact;
    expect(outcome(keyring, compact)).toBe('TOKEN_MALFORMED');
    expect(outcome(keyring, cook('rfc7797/4.2.hmac-sha2_b64_false.json').output.json)).toBe(
      'TOKEN_MALFORMED',
    );
  });

  it('RFC 7520 §3 keys: P-521 and the encryption key are refused, the others load', () => {
    expect(() =>
      Keyring.fromPublicJwks({ keys: [vector<Jwk>('jose-cookbook/jwk/3_1.ec_public_key.json')] }),
    ).toThrow();
    expect(() =>
      Keyring.fromJwks({ keys: [vector<Jwk>('jose-cookbook/jwk/3_2.ec_private_key.json')] }),
    ).toThrow();
    expect(() =>
      Keyring.fromJwks({
        keys: [vector<Jwk>('jose-cookbook/jwk/3_6.symmetric_key_encryption.json')],
      }),
    ).toThrow();
    expect(
      Keyring.fromPublicJwks(
        { keys: [vector<Jwk>('jose-cookbook/jwk/3_3.rsa_public_key.json')] },
        RSA,
      ).kids,
    ).toEqual(['bilbo.baggins@hobbiton.example']);
    expect(
      Keyring.fromJwks({ keys: [vector<Jwk>('jose-cookbook/jwk/3_4.rsa_private_key.json')] }, RSA)
        .canSign,
    ).toBe(false);
    expect(
      Keyring.fromJwks({
        keys: [vector<Jwk>('jose-cookbook/jwk/3_5.symmetric_key_mac_computation.json')],
      }).canSign,
    ).toBe(true);
    // RSA is never accepted without the opt-in (ASVS 11.6.1).
    expect(() =>
      Keyring.fromPublicJwks({ keys: [vector<Jwk>('jose-cookbook/jwk/3_3.rsa_public_key.json')] }),
    ).toThrow();
  });
});
