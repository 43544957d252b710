/**
 * A WebAuthn authenticator in software (ES256, `none` attestation, resident keys, user
 * verification), for the tests that need no browser: it builds the same JSON a browser's
 * `PublicKeyCredential.toJSON()` gives, and can be made to lie (another origin, another
 * relying party, a counter that goes back) to test what the server refuses. Real Chromium
 * with its virtual authenticator is test/browser/passkeys.test.ts.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

interface Credential {
  id: Buffer;
  key: KeyObject;
  userHandle: string;
  counter: number;
}

/** What a test may change in what the authenticator (or the browser around it) reports. */
export interface Lies {
  origin?: string;
  rpId?: string;
  type?: string;
  challenge?: string;
  /** The counter to report instead of the next one. */
  counter?: number;
  /** Clear the user-verified flag. */
  unverified?: boolean;
}

const b64 = (bytes: Uint8Array | Buffer): string => Buffer.from(bytes).toString('base64url');
const u32 = (n: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n);
  return out;
};

export class SoftAuthenticator {
  readonly credentials: Credential[] = [];

  /**
   * @param origin - Where the "browser" runs.
   * @param options.synced - Backup eligible and backed up (a synced passkey).
   * @param options.counting - Keep a signature counter (else it is always 0).
   */
  constructor(
    readonly origin: string,
    readonly options: { synced?: boolean; counting?: boolean } = {},
  ) {}

  get rpId(): string {
    return new URL(this.origin).hostname;
  }

  private flags(attested: boolean, lies: Lies): number {
    let flags = 0x01 | (lies.unverified ? 0 : 0x04);
    if (this.options.synced) flags |= 0x08 | 0x10;
    if (attested) flags |= 0x40;
    return flags;
  }

  private clientData(type: string, challenge: string, lies: Lies): string {
    return b64(
      Buffer.from(
        JSON.stringify({
          type: lies.type ?? type,
          challenge: lies.challenge ?? challenge,
          origin: lies.origin ?? this.origin,
          crossOrigin: false,
        }),
      ),
    );
  }

  /** `navigator.credentials.create(options)`, as JSON. */
  create(options: { challenge: string; user: { id: string } }, lies: Lies = {}) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = isoCBOR.encode(
      new Map<string | number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(String(jwk.x), 'base64url')],
        [-3, Buffer.from(String(jwk.y), 'base64url')],
      ]),
    );
    const id = randomBytes(16);
    const counter = lies.counter ?? 0;
    const authData = Buffer.concat([
      createHash('sha256')
        .update(lies.rpId ?? this.rpId)
        .digest(),
      Buffer.from([this.flags(true, lies)]),
      u32(counter),
      Buffer.alloc(16), // AAGUID: none
      Buffer.from([id.length >> 8, id.length & 0xff]),
      id,
      Buffer.from(cose),
    ]);
    type Cbor = Parameters<typeof isoCBOR.encode>[0];
    const attestationObject = isoCBOR.encode(
      new Map<string | number, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map<string | number, Cbor>()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    const userHandle = Buffer.from(options.user.id, 'base64url').toString('utf8');
    this.credentials.push({ id, key: privateKey, userHandle, counter });
    return {
      id: b64(id),
      rawId: b64(id),
      type: 'public-key',
      response: {
        clientDataJSON: this.clientData('webauthn.create', options.challenge, lies),
        attestationObject: b64(attestationObject),
        transports: ['internal', 'hybrid'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /**
   * `navigator.credentials.get(options)`, as JSON: with the first allowed credential it holds,
   * or (discoverable) its newest one.
   */
  get(options: { challenge: string; allowCredentials?: { id: string }[] }, lies: Lies = {}) {
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    const credential =
      allowed.length === 0
        ? this.credentials.at(-1)
        : this.credentials.find((c) => allowed.includes(b64(c.id)));
    if (credential === undefined) throw new Error('soft authenticator: no matching credential');
    if (this.options.counting) credential.counter += 1;
    const authData = Buffer.concat([
      createHash('sha256')
        .update(lies.rpId ?? this.rpId)
        .digest(),
      Buffer.from([this.flags(false, lies)]),
      u32(lies.counter ?? credential.counter),
    ]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, lies);
    const signed = Buffer.concat([
      authData,
      createHash('sha256').update(Buffer.from(clientDataJSON, 'base64url')).digest(),
    ]);
    return {
      id: b64(credential.id),
      rawId: b64(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON,
        authenticatorData: b64(authData),
        signature: b64(sign('sha256', signed, credential.key)),
        userHandle: b64(Buffer.from(credential.userHandle)),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
