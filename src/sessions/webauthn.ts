import { requirePeers } from '../entries/peers.js';
import { AuthError } from '../errors.js';
import type { StoredPasskey } from '../stores/port.js';

/**
 * The WebAuthn ceremonies, over `@simplewebauthn/server` (an optional peer, loaded on the
 * first passkey call): the options a browser gets, and the checks of what it sends back. No
 * store here: passkeys.ts takes the challenge and keeps the credential.
 *
 * What comes from a browser is checked twice. First its shape, here: anything that is not a
 * WebAuthn response JSON is VALIDATION_FAILED. Then its meaning, by the library: a wrong
 * challenge, origin, relying-party id, signature or counter is INVALID_CREDENTIALS, whatever
 * the library throws (its messages go to `detail`, for the operator, never the client).
 */

/** COSE algorithms offered and accepted: EdDSA, ES256, RS256 (what authenticators make). */
const ALGORITHMS = [-8, -7, -257];
/** How long a ceremony may take; its challenge lives as long (then it is refused). */
export const CHALLENGE_TTL_MS = 300_000;
const TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);
/** Generous for any real authenticator (ids are at most 1023 bytes), small enough to index. */
const MAX_CREDENTIAL_ID = 1400;
const MAX_FIELD = 12_000;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** The relying party: who the passkeys are for, from `publicUrl`. */
export interface RelyingParty {
  /** The host name (`auth.example.com`): what a passkey is bound to. */
  id: string;
  /** `scheme://host[:port]`: where the ceremonies must happen. */
  origin: string;
  /** Shown by the browser when it asks for a passkey. */
  name: string;
}

/**
 * The relying party of `publicUrl`, or NOT_FOUND when there is none: a passkey bound to a host
 * taken from the request (the Host header) would let a phishing site that proxies this one
 * have its own host accepted.
 */
export function relyingParty(publicUrl: string | undefined, name: string): RelyingParty {
  if (publicUrl === undefined)
    throw new AuthError('NOT_FOUND', 'Passkeys are not enabled on this server (no publicUrl).');
  const url = new URL(publicUrl);
  // A relying-party id is a domain; browsers refuse WebAuthn for an IP address.
  if (url.hostname.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(url.hostname))
    throw new AuthError('NOT_FOUND', 'Passkeys need a publicUrl with a host name, not an address.');
  return { id: url.hostname, origin: url.origin, name };
}

/** A browser's registration or sign-in answer, checked for shape only. */
export interface WebAuthnResponse {
  id: string;
  rawId: string;
  type: 'public-key';
  response: {
    clientDataJSON: string;
    attestationObject?: string;
    transports?: string[];
    authenticatorData?: string;
    signature?: string;
    userHandle?: string;
  };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment?: 'platform' | 'cross-platform';
}

const malformed = (what: string): never => {
  throw new AuthError('VALIDATION_FAILED', `Invalid passkey response: ${what}.`);
};

const b64 = (value: unknown, what: string, max = MAX_FIELD): string => {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > max ||
    !BASE64URL.test(value)
  )
    malformed(what);
  return value as string;
};

/**
 * Checks that `value` has the shape of a WebAuthn response (`PublicKeyCredential.toJSON()`)
 * of the ceremony `kind`, and reads the challenge it answers from its clientDataJSON.
 */
export function parseResponse(
  value: unknown,
  kind: 'register' | 'login',
): { response: WebAuthnResponse; challenge: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) malformed('response');
  const v = value as Record<string, unknown>;
  const id = b64(v.id, 'id', MAX_CREDENTIAL_ID);
  if (v.rawId !== id) malformed('rawId');
  if (v.type !== 'public-key') malformed('type');
  const inner = v.response;
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) malformed('response');
  const r = inner as Record<string, unknown>;
  const clientDataJSON = b64(r.clientDataJSON, 'clientDataJSON');
  const out: WebAuthnResponse['response'] = { clientDataJSON };
  if (kind === 'register') {
    out.attestationObject = b64(r.attestationObject, 'attestationObject');
    if (r.transports !== undefined) {
      if (!Array.isArray(r.transports) || r.transports.length > 16) malformed('transports');
      out.transports = (r.transports as unknown[]).filter(
        (t): t is string => typeof t === 'string' && TRANSPORTS.has(t),
      );
    }
  } else {
    out.authenticatorData = b64(r.authenticatorData, 'authenticatorData');
    out.signature = b64(r.signature, 'signature');
    if (r.userHandle !== undefined && r.userHandle !== null && r.userHandle !== '')
      out.userHandle = b64(r.userHandle, 'userHandle', 128);
  }
  const attachment = v.authenticatorAttachment;
  const response: WebAuthnResponse = {
    id,
    rawId: id,
    type: 'public-key',
    response: out,
    clientExtensionResults: {},
  };
  if (attachment === 'platform' || attachment === 'cross-platform')
    response.authenticatorAttachment = attachment;
  return { response, challenge: challengeOf(clientDataJSON) };
}

function challengeOf(clientDataJSON: string): string {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
  } catch {
    return malformed('clientDataJSON');
  }
  const challenge = (data as { challenge?: unknown } | null)?.challenge;
  return b64(challenge, 'challenge', 128);
}

/** What the library threw, for `detail`: its message names what did not match. */
const refused = (what: string, error?: unknown): never => {
  throw new AuthError('INVALID_CREDENTIALS', 'The passkey could not be verified.', {
    detail: error instanceof Error ? `${what}: ${error.message}` : what,
    ...(error === undefined ? {} : { cause: error }),
  });
};

async function library() {
  // An optional peer: a server installed without it has no passkeys, like one without
  // publicUrl — a clear 404 on those routes, not a 500.
  await requirePeers('Passkeys', ['@simplewebauthn/server']).catch((error: unknown) => {
    throw new AuthError(
      'NOT_FOUND',
      'Passkeys are not enabled on this server (@simplewebauthn/server is not installed).',
      { cause: error },
    );
  });
  const [server, helpers] = await Promise.all([
    import('@simplewebauthn/server'),
    import('@simplewebauthn/server/helpers'),
  ]);
  return { server, helpers };
}

/** Creation options for `navigator.credentials.create`: a discoverable credential, verified user. */
export async function registrationOptions(
  rp: RelyingParty,
  user: { id: string; email: string },
  existing: readonly StoredPasskey[],
) {
  const { server } = await library();
  return server.generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.email,
    userDisplayName: user.email,
    // The user handle comes back with every discoverable sign-in: the opaque id, never the email.
    userID: new TextEncoder().encode(user.id),
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    supportedAlgorithmIDs: ALGORITHMS,
  });
}

/** Request options for `navigator.credentials.get`; no allowed ids: any discoverable one. */
export async function signInOptions(
  rp: RelyingParty,
  allow: readonly { id: string; transports: string[] }[],
) {
  const { server } = await library();
  return server.generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: allow.map((p) => ({ id: p.id, transports: p.transports })),
    userVerification: 'required',
    timeout: CHALLENGE_TTL_MS,
  });
}

/** A verified registration: the credential to keep. */
export interface VerifiedCredential {
  id: string;
  publicKey: string;
  counter: number;
  transports: string[];
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
}

/**
 * Verifies a registration against the challenge it answers. Only attestation that needs no
 * certificate is taken (`none`, or `packed` self-attestation): the options ask for none, and
 * checking a certificate chain could make this server fetch revocation lists from URLs that
 * the request itself names.
 */
export async function verifyRegistration(
  rp: RelyingParty,
  response: WebAuthnResponse,
  challenge: string,
): Promise<VerifiedCredential> {
  const { server, helpers } = await library();
  try {
    const attestation = helpers.decodeAttestationObject(
      Buffer.from(String(response.response.attestationObject), 'base64url'),
    );
    const fmt = attestation.get('fmt');
    const statement = attestation.get('attStmt');
    if (fmt !== 'none' && !(fmt === 'packed' && statement.get('x5c') === undefined))
      return refused(`attestation format ${String(fmt)} is not accepted`);
  } catch (error) {
    if (error instanceof AuthError) throw error;
    return refused('attestationObject', error);
  }
  type Transports = Parameters<
    typeof server.verifyRegistrationResponse
  >[0]['response']['response']['transports'];
  let verified: Awaited<ReturnType<typeof server.verifyRegistrationResponse>>;
  try {
    verified = await server.verifyRegistrationResponse({
      response: {
        ...response,
        response: {
          clientDataJSON: response.response.clientDataJSON,
          attestationObject: response.response.attestationObject ?? '',
          transports: (response.response.transports ?? []) as NonNullable<Transports>,
        },
      },
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
      supportedAlgorithmIDs: ALGORITHMS,
    });
  } catch (error) {
    return refused('registration', error);
  }
  if (!verified.verified) return refused('registration signature');
  const info = verified.registrationInfo;
  return {
    id: info.credential.id,
    publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
    counter: info.credential.counter,
    transports: (response.response.transports as string[] | undefined) ?? [],
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
  };
}

/** A verified assertion: the counter it reported and how the key is kept. */
export interface VerifiedAssertion {
  newCounter: number;
  deviceType: 'singleDevice' | 'multiDevice';
  userVerified: boolean;
}

/** Verifies a sign-in with `passkey` against the challenge it answers (counter included). */
export async function verifyAssertion(
  rp: RelyingParty,
  response: WebAuthnResponse,
  challenge: string,
  passkey: StoredPasskey,
): Promise<VerifiedAssertion> {
  const { server } = await library();
  let verified: Awaited<ReturnType<typeof server.verifyAuthenticationResponse>>;
  try {
    verified = await server.verifyAuthenticationResponse({
      response: {
        ...response,
        response: {
          clientDataJSON: response.response.clientDataJSON,
          authenticatorData: response.response.authenticatorData ?? '',
          signature: response.response.signature ?? '',
          ...(response.response.userHandle === undefined
            ? {}
            : { userHandle: response.response.userHandle }),
        },
      },
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: passkey.id,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: passkey.counter,
      },
      requireUserVerification: true,
    });
  } catch (error) {
    return refused('assertion', error);
  }
  if (!verified.verified) return refused('assertion signature');
  const info = verified.authenticationInfo;
  return {
    newCounter: info.newCounter,
    deviceType: info.credentialDeviceType,
    userVerified: info.userVerified,
  };
}

/**
 * RFC 8176 `amr` of a passkey sign-in: `user` (the authenticator verified the user: PIN or
 * biometric, required here) and `hwk` when the key cannot leave its hardware, `swk` when it
 * is a synced passkey (backup-eligible, WebAuthn's `multiDevice`): a copy of its private key
 * lives in a cloud keychain, so possession is of a software-held key. Decided by the
 * credential's backup eligibility, which is fixed at creation, not by whether it is backed up
 * yet.
 */
export function passkeyAmr(assertion: VerifiedAssertion): string[] {
  const key = assertion.deviceType === 'multiDevice' ? 'swk' : 'hwk';
  return assertion.userVerified ? [key, 'user'] : [key];
}
