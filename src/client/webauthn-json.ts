/**
 * WebAuthn's JSON forms, converted by hand: the server's options (base64url strings) into
 * what `navigator.credentials` takes (bytes), and a credential back into the JSON the
 * server reads (`PublicKeyCredential.toJSON()`). One code path for every browser: the
 * native `parse…FromJSON` and `toJSON()` arrived only in 2025, and the fields the server
 * sends convert simply. A malformed option is `PASSKEY_FAILED`.
 */

import { AuthClientError } from './http.js';

const ABC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Unpadded base64url (RFC 4648 §5) of the bytes. */
export function toBase64url(data: ArrayBuffer | ArrayBufferView): string {
  const bytes = ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ABC[n >> 18]! + ABC[(n >> 12) & 63] + ABC[(n >> 6) & 63] + ABC[n & 63];
  }
  return out.slice(0, out.length - ((3 - (bytes.length % 3)) % 3));
}

/**
 * The bytes of base64url text, padded or not. Anything else (another alphabet, a length no
 * encoding has, wrong padding, stray bits after the last byte) is refused: the strings come
 * from the server, and a wrong byte would only fail later, less clearly.
 */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const [, body = '', pad = ''] = /^([A-Za-z0-9_-]*)(=*)$/.exec(text) ?? [];
  // Padding, when there is any, fills the last group of four: "QQ==", "QUI=".
  const padded = pad === '' || (text.length % 4 === 0 && pad.length <= 2);
  if (body.length + pad.length !== text.length || body.length % 4 === 1 || !padded)
    throw failed('Not base64url.');
  const out = new Uint8Array((body.length * 3) >> 2);
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const ch of body) {
    acc = (acc << 6) | ABC.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = acc >> bits;
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) throw failed('Not base64url: stray bits.');
  return out;
}

export const failed = (message: string, code = 'PASSKEY_FAILED') =>
  new AuthClientError(code, 0, message);

/** The options JSON of the passkey routes: only the fields that carry bytes are named. */
export interface OptionsJSON {
  challenge: string;
  user?: { id: string; [key: string]: unknown };
  excludeCredentials?: { id: string; [key: string]: unknown }[];
  allowCredentials?: { id: string; [key: string]: unknown }[];
  [key: string]: unknown;
}

/** A credential the way the server reads it (`PublicKeyCredential.toJSON()`). */
export interface CredentialJSON {
  id: string;
  rawId: string;
  type: string;
  response: Record<string, unknown>;
  clientExtensionResults: AuthenticationExtensionsClientOutputs;
  authenticatorAttachment?: string | null;
  [key: string]: unknown;
}

/**
 * `PublicKeyCredential.parseCreationOptionsFromJSON` (`create`) or
 * `parseRequestOptionsFromJSON`, for the fields the server sends: the challenge, the user
 * handle, and the ids of the listed credentials become bytes; the rest (the relying party's
 * id among them) stays as it is.
 */
export function parseOptions(
  json: OptionsJSON,
  create: boolean,
): PublicKeyCredentialCreationOptions | PublicKeyCredentialRequestOptions {
  const options: Record<string, unknown> = { ...json, challenge: fromBase64url(json.challenge) };
  if (create) options.user = { ...json.user, id: fromBase64url(json.user?.id ?? '') };
  const listed = create ? 'excludeCredentials' : 'allowCredentials';
  const list = json[listed];
  if (list) options[listed] = list.map((c) => ({ ...c, id: fromBase64url(c.id) }));
  return options as unknown as PublicKeyCredentialCreationOptions;
}

/** `PublicKeyCredential.toJSON()`, written out: the fields the server reads. */
export function credentialToJSON(credential: PublicKeyCredential): CredentialJSON {
  const r = credential.response as AuthenticatorAttestationResponse &
    AuthenticatorAssertionResponse;
  const response: Record<string, unknown> = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.transports = r.getTransports?.() ?? [];
  } else {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
  };
}
