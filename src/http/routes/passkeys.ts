import type { SignedIn } from '../../sessions/types.js';
import { authenticate, type HttpContext, parseBody } from '../core.js';
import { wantsBearer } from '../request.js';
import { type HttpResponse, json, noContent } from '../response.js';
import * as S from '../schemas.js';
import { signedIn, signInResponses, stepUp, withCleared } from './answers.js';
import { admitSignIn, endBrowserSession, ISSUE, withClientKey } from './sign-in.js';
import {
  codes,
  PASSWORD_CHECK,
  type RouteDef,
  SIGNED_IN,
  SIGNED_IN_UNSAFE,
  STEP_UP,
} from './types.js';

// --- bodies: the shape of a WebAuthn response (PublicKeyCredential.toJSON()); what its
// fields mean is the sessions layer's to check (VALIDATION_FAILED, then INVALID_CREDENTIALS).
const b64 = { type: 'string', minLength: 1, maxLength: 12_000, pattern: '^[A-Za-z0-9_-]*={0,2}$' };
const credentialId = { type: 'string', minLength: 1, maxLength: 1400, pattern: '^[A-Za-z0-9_-]+$' };
const webAuthnResponse = {
  type: 'object',
  required: ['id', 'rawId', 'type', 'response'],
  properties: {
    id: credentialId,
    rawId: credentialId,
    type: { type: 'string', enum: ['public-key'] },
    response: {
      type: 'object',
      required: ['clientDataJSON'],
      properties: {
        clientDataJSON: b64,
        attestationObject: b64,
        authenticatorData: b64,
        signature: b64,
        userHandle: { type: ['string', 'null'], maxLength: 128 },
        transports: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 32 } },
      },
    },
    clientExtensionResults: { type: 'object' },
    authenticatorAttachment: { type: ['string', 'null'], maxLength: 32 },
  },
} as const;

const registerOptionsBody = S.optionalPasswordBody;
const registerBody = {
  type: 'object',
  required: ['response'],
  additionalProperties: false,
  properties: { response: webAuthnResponse, name: { type: 'string', maxLength: 64 } },
} as const;
const signInOptionsBody = {
  type: 'object',
  additionalProperties: false,
  properties: { email: { type: 'string', format: 'email', minLength: 3, maxLength: 254 } },
} as const;
const signInBody = {
  type: 'object',
  required: ['response'],
  additionalProperties: false,
  properties: { response: webAuthnResponse, device: { type: 'string', maxLength: 200 } },
} as const;
const passkeyIdParam = credentialId;

// --- answers
const optionsSchema = {
  type: 'object',
  required: ['challenge'],
  description:
    'WebAuthn options JSON (PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON)',
  properties: { challenge: { type: 'string' } },
} as const;
const passkeysSchema = {
  type: 'object',
  required: ['passkeys'],
  properties: {
    passkeys: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'name', 'createdAt', 'lastUsedAt', 'synced', 'transports'],
        properties: {
          id: { type: 'string' },
          name: { type: ['string', 'null'] },
          createdAt: { type: 'integer' },
          lastUsedAt: { type: ['integer', 'null'] },
          synced: { type: 'boolean' },
          transports: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;
const addedSchema = {
  type: 'object',
  required: ['id'],
  description:
    "The passkey's id; this session's fresh tokens too (cookies, or the bearer sign-in fields).",
  properties: { id: { type: 'string' } },
} as const;

/**
 * A change that ended the other sessions and kept this one with fresh tokens: they go out
 * the way the caller's came in (a cookie session stays one; see refresh), with `extra`
 * beside them; with nothing else to say, a cookie session gets 204 and its cookies (as the
 * TOTP routes answer). Null: this session ended meanwhile, so its cookies go too.
 */
function keptSession(
  ctx: HttpContext,
  s: SignedIn | null,
  status: number,
  via: 'bearer' | 'cookie',
  extra?: Record<string, unknown>,
): HttpResponse {
  if (s === null)
    return withCleared(extra === undefined ? noContent() : json(status, extra), via === 'cookie');
  const res = signedIn(ctx, s, status, via === 'bearer');
  if (extra === undefined && via === 'cookie') {
    const done = noContent();
    done.cookies = res.cookies;
    return done;
  }
  res.body = { ...extra, ...(res.body as object) };
  return res;
}

/**
 * What a failed assertion or registration answers: INVALID_CREDENTIALS; NOT_FOUND when the
 * server has no publicUrl (passkeys off).
 */
const CEREMONY = codes('VALIDATION_FAILED', 'INVALID_CREDENTIALS', 'NOT_FOUND');

/** Passkeys (WebAuthn): add, list, remove, and sign in with one. */
export const PASSKEY_ROUTES: readonly RouteDef[] = [
  {
    method: 'POST',
    path: '/auth/passkeys/register/options',
    summary: 'WebAuthn creation options for a new passkey (step-up: recent sign-in or password)',
    access: 'user',
    body: registerOptionsBody,
    responses: {
      200: ['Creation options; the challenge is bound to this session.', optionsSchema],
    },
    errors: codes(SIGNED_IN_UNSAFE, STEP_UP, CEREMONY),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, registerOptionsBody);
      const options = await ctx.auth.passkeyRegistrationOptions(
        a.claims.sub,
        a.claims.sid,
        stepUp(a, body.password, body.otp),
      );
      return json(200, options);
    },
  },
  {
    method: 'POST',
    path: '/auth/passkeys/register',
    summary: 'Store the new passkey; every other session ends, this one gets fresh tokens',
    access: 'user',
    body: registerBody,
    responses: { 201: ['Added.', addedSchema] },
    errors: codes(SIGNED_IN_UNSAFE, CEREMONY, ISSUE),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, registerBody);
      const name = typeof body.name === 'string' ? body.name : undefined;
      const added = await ctx.auth.addPasskey(
        a.claims.sub,
        a.claims.sid,
        name === undefined ? { response: body.response } : { response: body.response, name },
      );
      return keptSession(ctx, added.signedIn, 201, a.via, { id: added.id });
    },
  },
  {
    method: 'GET',
    path: '/auth/passkeys',
    summary: "This user's passkeys",
    access: 'user',
    responses: { 200: ['Passkeys, oldest first.', passkeysSchema] },
    errors: SIGNED_IN,
    async handle(ctx, req) {
      const { claims } = authenticate(ctx, req);
      return json(200, { passkeys: await ctx.auth.listPasskeys(claims.sub) });
    },
  },
  {
    method: 'DELETE',
    path: '/auth/passkeys/:id',
    summary: 'Remove a passkey (step-up); every other session ends, this one gets fresh tokens',
    access: 'user',
    body: S.optionalPasswordBody,
    params: { id: passkeyIdParam },
    responses: {
      200: ["Removed (bearer): this session's fresh tokens.", S.signedInBearer],
      204: ["Removed (cookies): this session's fresh cookies, or cleared if it had ended."],
    },
    errors: codes(SIGNED_IN_UNSAFE, STEP_UP, 'NOT_FOUND', ISSUE),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.optionalPasswordBody);
      const s = await ctx.auth.removePasskey(
        a.claims.sub,
        req.params.id ?? '',
        stepUp(a, body.password, body.otp),
        { keepSession: a.claims.sid },
      );
      return keptSession(ctx, s, 200, a.via);
    },
  },
  {
    method: 'POST',
    path: '/auth/passkeys/login/options',
    summary: 'WebAuthn request options (any passkey of this site, or those of one email)',
    access: 'none',
    body: signInOptionsBody,
    responses: { 200: ['Request options; the challenge is single use.', optionsSchema] },
    errors: codes('CSRF_FAILED', 'RATE_LIMITED', 'VALIDATION_FAILED', 'NOT_FOUND', ISSUE),
    async handle(ctx, req) {
      // Each answer stores a challenge: limited per client like a sign-in attempt.
      admitSignIn(ctx, req, wantsBearer(req));
      const body = parseBody(ctx, req, signInOptionsBody);
      const email = typeof body.email === 'string' ? body.email : undefined;
      return json(200, await ctx.auth.passkeySignInOptions(email === undefined ? {} : { email }));
    },
  },
  {
    method: 'POST',
    path: '/auth/passkeys/login',
    summary: 'Sign in with a passkey (no password; no other factor)',
    access: 'none',
    body: signInBody,
    responses: { 200: signInResponses[200] },
    errors: codes('CSRF_FAILED', PASSWORD_CHECK, CEREMONY, 'ACCOUNT_DISABLED', ISSUE),
    async handle(ctx, req) {
      const bearer = wantsBearer(req);
      admitSignIn(ctx, req, bearer);
      const body = parseBody(ctx, req, signInBody);
      const device = typeof body.device === 'string' ? { device: body.device } : {};
      const s = await ctx.auth.loginWithPasskey(
        withClientKey(ctx, req, { response: body.response, ...device }),
      );
      if (!bearer) await endBrowserSession(ctx, req, s.session.sid);
      return signedIn(ctx, s, 200, bearer);
    },
  },
];
