export { jwkThumbprint } from './jwk.js';
export type { KeyringOptions } from './keyring.js';
export { Keyring } from './keyring.js';
export type { AccessTokenSigner, SignedAccessToken, SignerOptions, SignInput } from './sign.js';
export { createSigner } from './sign.js';
export type {
  AccessTokenClaims,
  Jwk,
  JwkSet,
  JwkSetInput,
  SigningAlgorithm,
  VerifyAlgorithm,
} from './types.js';
export type { AccessTokenVerifier, AccessTokenVerifierOptions } from './verify.js';
export {
  createAccessTokenVerifier,
  DEFAULT_CACHE_MAX,
  DEFAULT_CLOCK_SKEW_SECONDS,
  DEFAULT_MAX_TOKEN_LENGTH,
} from './verify.js';
