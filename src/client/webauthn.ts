/**
 * notbefore/client/webauthn: the browser's half of a passkey ceremony, for
 * `createAuthClient({ webauthn })`. Kept apart from notbefore/client so that an app without
 * passkeys does not carry it: the client stays under 5 KB.
 *
 * @module notbefore/client/webauthn
 */

import { AuthClientError } from './http.js';
import type { ClientWebAuthn } from './types.js';
import { credentialToJSON, failed, type OptionsJSON, parseOptions } from './webauthn-json.js';

/**
 * Whether this browser can make and use passkeys: WebAuthn, in a secure context (https, or
 * localhost). Where it cannot, the client's passkey methods reject with `PASSKEY_UNSUPPORTED`.
 *
 * @example
 * ```ts
 * import { passkeysSupported } from 'notbefore/client/webauthn';
 *
 * passkeyButton.hidden = !passkeysSupported();
 * ```
 */
export function passkeysSupported(): boolean {
  return typeof PublicKeyCredential === 'function' && !!globalThis.navigator?.credentials;
}

/** The browser's DOMException names, as client codes; any other is PASSKEY_FAILED. */
const REFUSALS: Record<string, string> = {
  // Cancelled, timed out, or no passkey for this site: browsers tell these apart to nobody.
  NotAllowedError: 'PASSKEY_CANCELLED',
  AbortError: 'PASSKEY_ABORTED',
  // Creation only: the authenticator already holds a passkey of this account (excluded).
  InvalidStateError: 'PASSKEY_EXISTS',
};

/**
 * The ceremony `createAuthClient({ webauthn })` runs for `addPasskey` (`create`) and
 * `loginWithPasskey` (`get`): it fetches the server's options through `options()`, lets the
 * browser ask the user (`navigator.credentials`), and resolves the credential as the JSON
 * the server reads. It rejects with an {@link AuthClientError} of status 0:
 * `PASSKEY_UNSUPPORTED` (before any request, so no challenge is spent), `PASSKEY_CANCELLED`
 * (the user closed the prompt, it timed out, or the device has no passkey for the site),
 * `PASSKEY_ABORTED` (`signal`, during the request for options too), `PASSKEY_EXISTS`
 * (creation: this authenticator already holds a passkey of the account) or `PASSKEY_FAILED`;
 * the request's own failures pass through with the server's code.
 *
 * @example
 * ```ts
 * import { createAuthClient } from 'notbefore/client';
 * import { webauthn } from 'notbefore/client/webauthn';
 *
 * const auth = createAuthClient({ webauthn });
 * await auth.loginWithPasskey();
 * ```
 */
export const webauthn: ClientWebAuthn = async (kind, options, signal) => {
  if (!passkeysSupported())
    throw failed('This browser cannot use passkeys.', 'PASSKEY_UNSUPPORTED');
  try {
    const publicKey = parseOptions((await options()) as OptionsJSON, kind === 'create');
    const init = { publicKey, ...(signal && { signal }) };
    const credential = await (kind === 'create'
      ? navigator.credentials.create(init as CredentialCreationOptions)
      : navigator.credentials.get(init as CredentialRequestOptions));
    if (!credential) throw failed('The browser gave no passkey.');
    return credentialToJSON(credential as PublicKeyCredential);
  } catch (error) {
    // Whatever the browser threw (its AbortError, or the abort's own reason), an abort is one.
    if (signal?.aborted) throw failed('The passkey ceremony was aborted.', 'PASSKEY_ABORTED');
    if (error instanceof AuthClientError) throw error;
    const e = error as { name?: unknown; message?: unknown } | null;
    const message = typeof e?.message === 'string' && e.message ? e.message : 'WebAuthn failed.';
    throw failed(message, REFUSALS[String(e?.name)]);
  }
};
