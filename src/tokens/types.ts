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
