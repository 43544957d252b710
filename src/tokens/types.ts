/** Claims of a notbefore access token (RFC 9068 profile, header `typ: at+jwt`). */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  jti: string;
  /** NumericDate seconds with millisecond fraction (RFC 7519 §2 allows a fraction). */
  iat: number;
  exp: number;
  nbf?: number;
  /** When the user last entered the password (NumericDate seconds). */
  auth_time: number;
  roles: string[];
}

/** Algorithms notbefore signs with. RS256/PS256 are verify-only, and only when configured. */
export type SigningAlgorithm = 'EdDSA' | 'HS256' | 'ES256';
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
