import { isUtf8 } from 'node:buffer';

/**
 * The JSON guard for JWS headers and JWT claim sets (JWT-ATTACKS.md §13, §15, §18):
 * strict UTF-8 (a BOM is kept, so JSON.parse refuses it), a top-level object, no
 * duplicate member names at any depth (compared after unescaping), no `__proto__`
 * member, no lone surrogates. Returns null for anything else; callers map null to
 * their own error code. The value returned is deep-frozen.
 *
 * Duplicate detection without a reviver: JSON.parse keeps the last of two equal names,
 * so the parsed tree has fewer members than the text. Outside strings, every `:` in
 * JSON text separates exactly one member name from its value, so the text's member
 * count is its number of colons outside strings. Measured on a 250-byte claim set
 * (busy 2-core box): JSON.parse 2.0 µs, JSON.parse with a no-op reviver 7.5 µs, the
 * exact colon scan 0.7 µs, the quick bound that usually replaces it about half that. The walk over the parsed tree that counts members is iterative
 * (no recursion, so deep nesting cannot blow the stack) and is bounded by the token
 * length limit the verifier enforces first.
 */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  if (!isUtf8(bytes)) return null;
  return parseJsonObjectText(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'),
  );
}

export function parseJsonObjectText(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  // Escapes are the only way to spell a lone surrogate in valid UTF-8 JSON text.
  const checkSurrogates = text.includes('\\u');
  const treeMembers = countMembersInTree(value, checkSurrogates);
  if (treeMembers < 0) return null;
  // The quick bound is never below the true count, so equality with the tree proves
  // there is no duplicate; anything else gets the exact scan.
  if (memberUpperBound(text) !== treeMembers && countMembersInText(text) !== treeMembers) {
    return null;
  }
  return value as Record<string, unknown>;
}

/** In `u` mode a surrogate pair is one code point, so `\p{Cs}` matches only lone halves. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * An upper bound on the members, or -1: in text with no backslash and no whitespace
 * (what JSON.stringify emits for our claims), every member name ends in `":`, and a
 * `":` elsewhere can only be a string that starts with a colon, so counting `":` with
 * native indexOf never undercounts. Measured ≈ 0.5× the exact scan below.
 */
function memberUpperBound(text: string): number {
  if (
    text.indexOf('\\') !== -1 ||
    text.indexOf(' ') !== -1 ||
    text.indexOf('\n') !== -1 ||
    text.indexOf('\r') !== -1 ||
    text.indexOf('\t') !== -1
  ) {
    return -1;
  }
  let count = 0;
  for (let i = text.indexOf('":'); i !== -1; i = text.indexOf('":', i + 2)) count++;
  return count;
}

/** Colons outside string literals. The text already parsed, so strings are well formed. */
function countMembersInText(text: string): number {
  let count = 0;
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      for (;;) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) {
          i++;
          break;
        } else i++;
      }
    } else {
      if (c === 58 /* : */) count++;
      i++;
    }
  }
  return count;
}

/**
 * Members across every object in the tree, or -1 on `__proto__` or a lone surrogate.
 * Freezes each node on the way, so callers get an immutable value without a second walk.
 */
function countMembersInTree(root: object, checkSurrogates: boolean): number {
  let count = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as object;
    Object.freeze(node);
    if (Array.isArray(node)) {
      for (const item of node) {
        if (typeof item === 'object' && item !== null) stack.push(item);
        else if (checkSurrogates && typeof item === 'string' && LONE_SURROGATE.test(item))
          return -1;
      }
      continue;
    }
    const record = node as Record<string, unknown>;
    for (const key in record) {
      if (!Object.hasOwn(record, key)) continue;
      if (key === '__proto__') return -1;
      if (checkSurrogates && LONE_SURROGATE.test(key)) return -1;
      count++;
      const item = record[key];
      if (typeof item === 'object' && item !== null) stack.push(item);
      else if (checkSurrogates && typeof item === 'string' && LONE_SURROGATE.test(item)) return -1;
    }
  }
  return count;
}
