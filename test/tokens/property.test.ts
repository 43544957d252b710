/** fast-check properties for the parsers on the hot path (STYLE.md habit 3, ASVS 11.2.5). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { AuthError } from '../../src/errors.js';
import { decodeBase64url, encodeBase64url } from '../../src/tokens/base64url.js';
import { parseJsonObjectText } from '../../src/tokens/json.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createSigner } from '../../src/tokens/sign.js';
import { createAccessTokenVerifier } from '../../src/tokens/verify.js';
import { AUDIENCE, ISSUER, T0 } from './helpers.js';

function claimsOrAuthError(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
  }
}

describe('verify: any input yields claims or an AuthError (11.2.5)', () => {
  const clock = manualClock(T0);
  const keyring = Keyring.generate('HS256');
  const signer = createSigner({ keyring, issuer: ISSUER, audience: AUDIENCE, ttl: 900, clock });
  const verifier = createAccessTokenVerifier({
    keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock,
  });
  const { token } = signer.sign({ sub: 'u', sid: 's', roles: ['r'], authTime: T0 });
  const b64Char = fc.constantFrom(
    ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.='.split(''),
  );

  it('11.2.5 arbitrary strings (any unit) and arbitrary values', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string()),
        (s) => {
          claimsOrAuthError(() => verifier.verify(s));
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.anything(), (value) => claimsOrAuthError(() => verifier.verify(value))),
      {
        numRuns: 500,
      },
    );
  });

  it('base64url-alphabet strings with dots, and JWT-shaped strings of random JSON', () => {
    fc.assert(
      fc.property(fc.array(b64Char, { maxLength: 400 }), (chars) =>
        claimsOrAuthError(() => verifier.verify(chars.join(''))),
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.json(), fc.json(), fc.uint8Array({ maxLength: 40 }), (h, p, sig) => {
        const t = `${encodeBase64url(h)}.${encodeBase64url(p)}.${encodeBase64url(sig)}`;
        claimsOrAuthError(() => verifier.verify(t));
      }),
      { numRuns: 1000 },
    );
  });

  it('single-character edits of a valid token never verify and never throw anything else', () => {
    fc.assert(
      fc.property(fc.nat(token.length - 1), b64Char, (at, ch) => {
        fc.pre(token[at] !== ch);
        const edited = `${token.slice(0, at)}${ch}${token.slice(at + 1)}`;
        expect(() => verifier.verify(edited)).toThrow(AuthError);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('base64url guard', () => {
  it('bytes → encode → decode round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = encodeBase64url(bytes);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(decodeBase64url(text)?.equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it('the fast check equals the definition (decode, re-encode, compare) on any string', () => {
    const definition = (text: string) =>
      Buffer.from(text, 'base64url').toString('base64url') === text;
    const nearBase64 = fc.array(
      fc.oneof(
        fc.constantFrom(...'AQgwBCDk-_+/=. \n\r\t%é\u0000\ud800'.split('')),
        // Node decodes a unit above 0xFF by its low byte ("ű" as "q"): must be refused.
        fc.integer({ min: 0x80, max: 0x2ff }).map((code) => String.fromCharCode(code)),
        fc.constantFrom(
          ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''),
        ),
      ),
      { maxLength: 24 },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 24 }),
          nearBase64.map((c) => c.join('')),
        ),
        (text) => {
          expect(decodeBase64url(text) !== null).toBe(definition(text));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('any accepted string is canonical: decode → encode gives it back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 64 }), (text) => {
        const bytes = decodeBase64url(text);
        if (bytes !== null) {
          expect(bytes.toString('base64url')).toBe(text);
          expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
          expect(text.length % 4).not.toBe(1);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

/** Reference duplicate detector: a frame per object/array; names compared after unescaping. */
function hasDuplicateReference(text: string): boolean {
  const frames: { names: Set<string> | null; expectingName: boolean }[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const top = frames[frames.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top?.names && top.expectingName) {
        const name = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.names.has(name)) return true;
        top.names.add(name);
        top.expectingName = false;
      }
      i = j + 1;
      continue;
    }
    if (c === '{') frames.push({ names: new Set(), expectingName: true });
    else if (c === '[') frames.push({ names: null, expectingName: false });
    else if (c === '}' || c === ']') frames.pop();
    else if (c === ',' && top?.names) top.expectingName = true;
    i++;
  }
  return false;
}

describe('JSON guard', () => {
  const keyName = fc.constantFrom('a', 'b', 'sub', 's\\u0075b', 'x', '\\u0061', ':a', '', 'a b');
  const ws = fc.constantFrom('', '', '', ' ', '\n', '\t ');
  const jsonObjectText: fc.Arbitrary<string> = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom('1', 'true', 'null', '"v"', '2.5e3', '":"', '":a:"', '"x y"', '"\\":"'),
      tie('object') as fc.Arbitrary<string>,
      fc
        .array(tie('value') as fc.Arbitrary<string>, { maxLength: 3 })
        .map((items) => `[${items.join(',')}]`),
    ),
    object: fc
      .array(fc.tuple(keyName, ws, ws, tie('value') as fc.Arbitrary<string>), { maxLength: 4 })
      .map((members) => `{${members.map(([k, a, b, v]) => `"${k}"${a}:${b}${v}`).join(',')}}`),
  })).object;

  it('plain objects round-trip through the guard', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string().filter((k) => k !== '__proto__'),
          fc.jsonValue(),
        ),
        (obj) => {
          const text = JSON.stringify(obj);
          const parsed = parseJsonObjectText(text);
          fc.pre(!text.includes('__proto__'));
          expect(parsed).toEqual(JSON.parse(text));
        },
      ),
    );
  });

  it('accepts exactly the objects without duplicate names (names compared after unescaping)', () => {
    fc.assert(
      fc.property(jsonObjectText, (text) => {
        const accepted = parseJsonObjectText(text) !== null;
        expect(accepted).toBe(!hasDuplicateReference(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('non-objects are refused', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        fc.pre(typeof value !== 'object' || value === null || Array.isArray(value));
        expect(parseJsonObjectText(JSON.stringify(value))).toBeNull();
      }),
    );
  });
});
