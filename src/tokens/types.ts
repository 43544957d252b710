/** Claims of a notbefore access token (RFC 9068 profile, header `typ: at+jwt`). */
export interface AccessTokenClaims {
  /** The issuer, compared exactly on verify. */
  iss: string;
  /** The audience: one of the verifier's audiences. */
  aud: string;
  /** The user id. */
  sub: string;
  /** The session: revoking it revokes every token it was issued. */
  sid: string;
  /** This token's id, for `revokeToken`. */
  jti: string;
  /** NumericDate seconds with millisecond fraction (RFC 7519 §2 allows a fraction). */
  iat: number;
  /** NumericDate seconds; never past the session's absolute end. */
  exp: number;
  /** Not written by notbefore; checked when a token carries it. */
  nbf?: number;
  /** When the user last entered the password (NumericDate seconds). */
  auth_time: number;
  /** The user's roles when the token was issued. */
  roles: string[];
  /**
   * Whether the user had proved control of their email address when the token was issued
   * (OpenID Connect's claim name). Written by `createAuth`; absent on tokens from a bare
   * {@link createSigner} that was not given `emailVerified`.
   */
  email_verified?: boolean;
  /**
   * How the user signed in (RFC 8176): `["pwd"]` a password; `["pwd","otp","mfa"]` a password
   * and a TOTP or recovery code; `["hwk","user"]` or `["swk","user"]` a passkey (hardware- or
   * software-bound key, with user verification). Absent in tokens of notbefore before 0.3.
   */
  amr?: string[];
}

/** Algorithms notbefore signs with. RS256/PS256 are verify-only, and only when configured. */
export type SigningAlgorithm = 'EdDSA' | 'HS256' | 'ES256';
/**
 * Algorithms a keyring can verify: the signing ones, and RS256 and PS256 when listed in
 * `KeyringOptions.verifyOnly`.
 */
export type VerifyAlgorithm = SigningAlgorithm | 'RS256' | 'PS256';

/**
 * A JSON Web Key (RFC 7517) as read from or written to a JWKS. A type alias with an
 * index signature, so both DOM `JsonWebKey` values and parsed JSON fit.
 */
export type Jwk = {
  kty?: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  crv?: string;
  x?: string;
  y?: string;
  d?: string;
  n?: string;
  e?: string;
  k?: string;
  [member: string]: unknown;
};

/** A JWK Set: `{ "keys": [...] }`. */
export type JwkSet = { keys: Jwk[] };

/** What the keyring reads: parsed JSON or DOM `JsonWebKey`s; every member is checked at run time. */
export type JwkSetInput = { readonly keys: readonly (Jwk | JsonWebKey)[] };
