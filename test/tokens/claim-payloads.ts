/**
 * Claim-set payloads for the fast-path agreement properties: the shape notbefore signs,
 * with arbitrary and hostile values, then edited as text and as bytes (duplicates,
 * `__proto__`, whitespace, escapes, exponents, lone surrogates, invalid UTF-8, truncation).
 */
import fc from 'fast-check';
import { AUDIENCE, ISSUER, T0 } from './helpers.js';

const nowS = T0 / 1000;

/** Strings a hostile issuer could put in a claim: quotes, escapes, controls, surrogates. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({
    unit: fc.constantFrom(
      '"',
      '\\',
      '\u0000',
      '\u001f',
      '\u007f',
      'é',
      '\ud800',
      '\udc00',
      '/',
      ' ',
      'a',
    ),
  }),
  fc.constantFrom('', '__proto__', 'user-1', 'constructor'),
);

/** Numbers, including the ones JSON.stringify writes with an exponent or 16–17 digits. */
export const anyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.nat().map((n) => n / 1000),
  fc.integer({ min: -1e6, max: 1e6 }).map((d) => nowS + d / 1000),
  fc.constantFrom(
    0,
    -0,
    1e21,
    1e-7,
    2 ** 53,
    2 ** 53 + 2,
    123456789012345,
    1234567890123456,
    999999999999999.9,
    0.1,
    -1.5,
  ),
);

function mostly<T>(usual: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 6, arbitrary: usual }, { weight: 1, arbitrary: fc.jsonValue() });
}

/** The members notbefore signs, in its order, with values given per member. */
function claimsOf(
  text: fc.Arbitrary<unknown>,
  id: fc.Arbitrary<unknown>,
  time: fc.Arbitrary<unknown>,
  roles: fc.Arbitrary<unknown>,
  flag: fc.Arbitrary<unknown>,
): fc.Arbitrary<Record<string, unknown>> {
  // fc.record keeps this key order; JSON.stringify drops an undefined member.
  return fc.record({
    iss: fc.oneof(fc.constant(ISSUER), text),
    aud: fc.oneof(fc.constant(AUDIENCE), text),
    sub: id,
    sid: id,
    jti: id,
    iat: fc.oneof(fc.constant(nowS), time),
    exp: fc.oneof(fc.constant(nowS + 900), time),
    auth_time: fc.oneof(fc.constant(Math.floor(nowS) - 60), time),
    roles,
    email_verified: fc.option(flag, { nil: undefined }),
  });
}

/** Ids as servers make them, and two that the agreement tests put on a revocation list. */
const plainId = fc.oneof(
  { weight: 10, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/) },
  { weight: 1, arbitrary: fc.constantFrom('revoked-user', 'revoked-sid') },
);

/** What notbefore's signer writes: every value in the fast path's reach. */
const plainClaims = claimsOf(
  plainId,
  plainId,
  fc.integer({ min: -1e7, max: 1e7 }).map((d) => nowS + d / 1000),
  fc.array(fc.stringMatching(/^[a-z:]{0,8}$/), { maxLength: 4 }),
  fc.boolean(),
);

/** The same members with values usually of the right type, often hostile. */
const hostileClaims = claimsOf(
  mostly(anyText),
  mostly(fc.oneof({ weight: 3, arbitrary: plainId }, { weight: 1, arbitrary: anyText })),
  mostly(anyNumber),
  mostly(fc.array(fc.oneof(fc.stringMatching(/^[a-z:]{0,8}$/), anyText), { maxLength: 4 })),
  mostly(fc.boolean()),
);

export const claimObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  plainClaims,
  hostileClaims,
);

/** Number spellings, valid JSON or not, to put in place of iat. */
const numberText = fc.stringMatching(/^-?[0-9]{0,18}(\.[0-9]{0,18})?([eE][-+]?[0-9]{0,3})?$/);

const snippet = fc.constantFrom(
  ' ',
  '\n',
  '\t',
  ',"sub":"x"',
  ',"iss":"https://auth.example"',
  '"__proto__":{},',
  ',"__proto__":1',
  ',"extra":1',
  'e5',
  'E-2',
  '0',
  '-',
  '.',
  '\\u0041',
  '\\ud800',
  '\\"',
  '}',
  ']',
  '[',
  '"',
  ',',
  ':',
  'true',
  'null',
  '\u00e9',
  '\ufeff',
  '{"a":1}',
  '1e2',
);

type Edit =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'truncate'; at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: snippet }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({
    kind: fc.constant('byte' as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function applyEdits(bytes: Buffer, edits: readonly Edit[]): Buffer {
  let out = bytes;
  for (const e of edits) {
    const at = out.length === 0 ? 0 : e.at % (out.length + 1);
    switch (e.kind) {
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), Buffer.from(e.text, 'utf8'), out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + e.length)]);
        break;
      case 'byte':
        if (at < out.length) {
          out = Buffer.from(out);
          out[at] = e.value;
        }
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
    }
  }
  return out;
}

/**
 * Payload bytes: the signed shape as JSON.stringify writes it, or with iat spelt by hand,
 * or either after a few edits.
 */
export const claimPayload: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: claimObject.map((c) => Buffer.from(JSON.stringify(c), 'utf8')) },
  {
    weight: 2,
    arbitrary: fc.tuple(claimObject, numberText).map(([c, iat]) => {
      const text = JSON.stringify({ ...c, iat: 0 }).replace('"iat":0', `"iat":${iat}`);
      return Buffer.from(text, 'utf8');
    }),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(claimObject, fc.array(edit, { minLength: 1, maxLength: 3 }))
      .map(([c, edits]) => applyEdits(Buffer.from(JSON.stringify(c), 'utf8'), edits)),
  },
);

/**
 * True when two claim trees are the same: members in the same order, numbers equal by
 * Object.is (so -0 is not 0), every node frozen.
 */
export function sameTree(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return Object.is(a, b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (!Object.isFrozen(a) || !Object.isFrozen(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const key = ka[i] as string;
    if (key !== kb[i]) return false;
    if (!sameTree((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) {
      return false;
    }
  }
  return true;
}
