import { Keyring } from '../tokens/keyring.js';
import { createSigner } from '../tokens/sign.js';
import { createAccessTokenVerifier } from '../tokens/verify.js';
import type { AuthContext, Live } from './context.js';

/** Store secret names: the private JWKS (when no keyring is given) and the successor key. */
export const KEYS_SECRET = 'signing-keys';
export const REFRESH_SECRET = 'refresh-successor';
/** Least time between two key reloads caused by unknown kids (ms). */
const KEY_RELOAD_MS = 5_000;

/**
 * The signing keys: from `options.keys`, or shared through the store (the first instance
 * to start makes them), rotated and reloaded without a restart.
 */
export function keyOperations(ctx: AuthContext) {
  const { resolved, clock, options } = ctx;

  /**
   * A token signed with a kid we do not know may come from an instance that rotated the
   * shared keys: re-read them from the store, at most once per KEY_RELOAD_MS (so random
   * kids cannot make every request a store read). That token is refused; later ones pass.
   */
  let lastKeyReload = Number.NEGATIVE_INFINITY;
  const reloadSoon = () => {
    const now = clock.now();
    if (options.keys !== undefined || now - lastKeyReload < KEY_RELOAD_MS) return;
    lastKeyReload = now;
    reloadKeys().catch(ctx.reportError);
  };

  const build = (keyring: Keyring, refreshSecret: Buffer, storedKeys: string | null): Live => ({
    keyring,
    refreshSecret,
    storedKeys,
    signer: createSigner({
      keyring,
      issuer: resolved.issuer,
      audience: resolved.audience,
      ttl: resolved.accessTokenTtl,
      clock,
    }),
    verifier: createAccessTokenVerifier({
      keyring,
      issuer: resolved.issuer,
      audience: resolved.audience,
      clock,
      clockSkew: resolved.clockSkew,
      revocation: ctx.list,
      onUnknownKid: reloadSoon,
    }),
  });

  const loadKeys = async (): Promise<{ keyring: Keyring; stored: string | null }> => {
    if (options.keys !== undefined) return { keyring: options.keys, stored: null };
    const fresh = JSON.stringify(Keyring.generate('EdDSA').toPrivateJwks());
    const stored = await ctx.store().getOrCreateSecret(KEYS_SECRET, fresh);
    return { keyring: Keyring.fromJwks(JSON.parse(stored)), stored };
  };

  async function reloadKeys(): Promise<void> {
    await ctx.ready();
    const state = ctx.live();
    if (options.keys !== undefined) return;
    const { keyring, stored } = await loadKeys();
    if (stored === state.storedKeys) return;
    ctx.setLive(build(keyring, state.refreshSecret, stored));
  }

  return {
    build,
    loadKeys,
    reloadKeys,

    async rotateKeys(): Promise<void> {
      await ctx.ready();
      const state = ctx.live();
      state.keyring.rotate(undefined, clock.now());
      state.keyring.prune(clock.now(), ctx.windowMs);
      if (state.storedKeys === null) return;
      const next = JSON.stringify(state.keyring.toPrivateJwks());
      if (await ctx.store().replaceSecret(KEYS_SECRET, state.storedKeys, next)) {
        state.storedKeys = next;
        return;
      }
      // Another instance rotated first: take its keys rather than fork the keyring.
      await reloadKeys();
    },

    jwks() {
      return ctx.live().keyring.toPublicJwks() as { keys: JsonWebKey[] };
    },
  };
}
