/**
 * JSON schemas of the request bodies and answers. The route table validates with them
 * and the OpenAPI document is generated from them, so the two cannot drift apart.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

const email = { type: 'string', format: 'email', minLength: 3, maxLength: 254 } as const;
/** Long enough for any passphrase, short enough that hashing cannot be abused. */
const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;
const id = { type: 'string', minLength: 1, maxLength: 128 } as const;

export const credentialsBody: JsonSchema = {
  type: 'object',
  required: ['email', 'password'],
  additionalProperties: false,
  properties: { email, password, device: { type: 'string', maxLength: 200 } },
};

export const refreshBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { refreshToken: { type: 'string', minLength: 1, maxLength: 512 } },
};

/** A TOTP code or a recovery code, as typed (spaces and dashes allowed). */
const otp = { type: 'string', minLength: 1, maxLength: 64 } as const;

/** A step-up: the password (and on an account with TOTP, a code), or a recent sign-in. */
export const optionalPasswordBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { password, otp },
};

export const passwordBody: JsonSchema = {
  type: 'object',
  required: ['password'],
  additionalProperties: false,
  properties: { password, otp },
};

export const changePasswordBody: JsonSchema = {
  type: 'object',
  required: ['currentPassword', 'newPassword'],
  additionalProperties: false,
  properties: { currentPassword: password, newPassword: password },
};

const roles = {
  type: 'array',
  maxItems: 32,
  uniqueItems: true,
  items: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
} as const;

export const rolesBody: JsonSchema = {
  type: 'object',
  required: ['roles'],
  additionalProperties: false,
  properties: { roles },
};

export const emptyBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {},
};

export const sidParam: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' };
export const userIdParam: JsonSchema = id;

// --- answers ---

export const userSchema: JsonSchema = {
  type: 'object',
  required: ['id', 'email', 'roles', 'disabled', 'createdAt', 'emailVerified'],
  properties: {
    id,
    email: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    disabled: { type: 'boolean' },
    createdAt: { type: 'integer', description: 'ms since the epoch' },
    emailVerified: { type: 'boolean' },
  },
};

export const signedInBrowser: JsonSchema = {
  type: 'object',
  required: ['user', 'expiresAt', 'session'],
  properties: {
    user: userSchema,
    expiresAt: { type: 'integer', description: 'access token expiry, ms since the epoch' },
    session: { type: 'object', required: ['sid'], properties: { sid: { type: 'string' } } },
  },
};

export const signedInBearer: JsonSchema = {
  type: 'object',
  required: ['accessToken', 'refreshToken', 'expiresAt', 'session'],
  properties: {
    accessToken: { type: 'string' },
    refreshToken: { type: 'string' },
    expiresAt: { type: 'integer' },
    session: { type: 'object', required: ['sid'], properties: { sid: { type: 'string' } } },
    user: userSchema,
  },
};

export const claimsSchema: JsonSchema = {
  type: 'object',
  required: ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp', 'auth_time', 'roles'],
  properties: {
    iss: { type: 'string' },
    aud: { type: 'string' },
    sub: { type: 'string' },
    sid: { type: 'string' },
    jti: { type: 'string' },
    iat: { type: 'number' },
    exp: { type: 'number' },
    nbf: { type: 'number' },
    auth_time: { type: 'number' },
    roles: { type: 'array', items: { type: 'string' } },
    email_verified: { type: 'boolean' },
    amr: { type: 'array', items: { type: 'string' } },
  },
};

export const meSchema: JsonSchema = {
  type: 'object',
  required: ['user', 'claims'],
  properties: { user: userSchema, claims: claimsSchema },
};

export const sessionsSchema: JsonSchema = {
  type: 'object',
  required: ['sessions'],
  properties: {
    sessions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['sid', 'device', 'createdAt', 'lastSeenAt'],
        properties: {
          sid: { type: 'string' },
          device: { type: ['string', 'null'] },
          createdAt: { type: 'integer' },
          lastSeenAt: { type: 'integer' },
          current: { type: 'boolean' },
        },
      },
    },
  },
};

/** The error answer; with `codes`, one that carries only those. */
export function errorBody(codes?: readonly string[]): JsonSchema {
  return {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: codes === undefined ? { type: 'string' } : { type: 'string', enum: [...codes] },
          message: { type: 'string' },
          reason: { type: 'string', enum: ['global', 'user', 'claims', 'session', 'token'] },
        },
      },
    },
  };
}

export const errorSchema: JsonSchema = errorBody();

export const jwksSchema: JsonSchema = {
  type: 'object',
  required: ['keys'],
  properties: { keys: { type: 'array', items: { type: 'object' } } },
};

export const healthSchema: JsonSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok', 'unavailable'] } },
};

// --- account lifecycle (issue 12) ---

/**
 * A link token as pasted from the fragment. Only its length is checked here: one that is not
 * ours is answered LINK_INVALID like any unusable link, so its shape tells nothing.
 */
const linkToken = { type: 'string', minLength: 1, maxLength: 256 } as const;

export const linkTokenBody: JsonSchema = {
  type: 'object',
  required: ['token'],
  additionalProperties: false,
  properties: { token: linkToken },
};

export const emailBody: JsonSchema = {
  type: 'object',
  required: ['email'],
  additionalProperties: false,
  properties: { email },
};

export const resetPasswordBody: JsonSchema = {
  type: 'object',
  required: ['token', 'newPassword'],
  additionalProperties: false,
  properties: { token: linkToken, newPassword: password },
};

export const changeEmailBody: JsonSchema = {
  type: 'object',
  required: ['newEmail', 'password'],
  additionalProperties: false,
  properties: { newEmail: email, password },
};

export const invitationBody: JsonSchema = {
  type: 'object',
  required: ['email'],
  additionalProperties: false,
  properties: { email, roles },
};

export const acceptInvitationBody: JsonSchema = {
  type: 'object',
  required: ['token', 'password'],
  additionalProperties: false,
  properties: { token: linkToken, password, device: { type: 'string', maxLength: 200 } },
};

export const invitationSchema: JsonSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'the invitation, not its link' } },
};

// --- second factors (TOTP, recovery codes) ---

/** A sign-in: the credentials, and on an account with TOTP a code or a recovery code. */
export const loginBody: JsonSchema = {
  type: 'object',
  required: ['email', 'password'],
  additionalProperties: false,
  properties: {
    email,
    password,
    device: { type: 'string', maxLength: 200 },
    otp,
  },
};

/** The first code of a new TOTP enrolment. */
export const totpCodeBody: JsonSchema = {
  type: 'object',
  required: ['code'],
  additionalProperties: false,
  properties: { code: { type: 'string', minLength: 1, maxLength: 16 } },
};

/** A step-up that must carry a code: removing TOTP. */
export const otpStepUpBody: JsonSchema = {
  type: 'object',
  required: ['otp'],
  additionalProperties: false,
  properties: { password, otp },
};

export const totpEnrolmentSchema: JsonSchema = {
  type: 'object',
  required: ['secret', 'otpauthUrl'],
  properties: {
    secret: { type: 'string', description: 'base32, for typing into the app' },
    otpauthUrl: { type: 'string', description: 'otpauth://totp/…, to show as a QR code' },
  },
};

/** New recovery codes, and (bearer transport) the kept session's fresh tokens. */
export const recoveryCodesSchema: JsonSchema = {
  type: 'object',
  required: ['recoveryCodes'],
  properties: {
    recoveryCodes: { type: 'array', items: { type: 'string' } },
    accessToken: { type: 'string' },
    refreshToken: { type: 'string' },
    expiresAt: { type: 'integer' },
    session: { type: 'object', required: ['sid'], properties: { sid: { type: 'string' } } },
    user: userSchema,
  },
};

export const mfaStatusSchema: JsonSchema = {
  type: 'object',
  required: ['totp', 'recoveryCodesLeft'],
  properties: {
    totp: { type: 'string', enum: ['off', 'pending', 'on'] },
    recoveryCodesLeft: { type: 'integer' },
  },
};
