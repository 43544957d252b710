/**
 * A 64-bit hash of an id, as two int32 lanes written into `out` (no allocation, so the
 * verify hot path can call it per request).
 *
 * The revocation list keeps these hashes instead of the id strings: that is what brings a
 * live entry down to ~25 bytes. Two ids with the same hash share an entry, so a collision
 * can only make a valid token look revoked, never the reverse, and for the server-made
 * random ids the list holds (sid, jti, user ids) its chance is about n / 2^64 per lookup
 * with n live entries (1e6 entries: ~5e-14). The hash is not keyed: the lanes are
 * non-cryptographic (two multiply-rotate lanes with different constants, each with its
 * own finaliser), so ids an attacker could choose freely could be made to collide with work;
 * the worst such a collision can do is reject tokens. Keep ids server-made.
 *
 * It is fixed (not seeded per process) so a snapshot taken in one instance loads in another.
 */
export function hashId(id: string, out: Int32Array): void {
  const n = id.length;
  let a = 0x6a09e667 ^ n;
  let b = 0x3c6ef372 ^ Math.imul(n, 0x9e3779b1);
  let i = 0;
  // Two UTF-16 code units per step: a 32-bit block, injective for a given length. Each
  // lane step (xor, multiply by an odd constant, rotate) is a bijection of the lane.
  for (; i + 1 < n; i += 2) {
    const k = id.charCodeAt(i) | (id.charCodeAt(i + 1) << 16);
    a = Math.imul(a ^ k, 0xcc9e2d51);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ k, 0x1b873593);
    b = (b << 17) | (b >>> 15);
  }
  if (i < n) {
    const k = id.charCodeAt(i);
    a = Math.imul(a ^ k, 0xcc9e2d51);
    b = Math.imul(b ^ k, 0x1b873593);
  }
  // Avalanche: murmur3's fmix32 on lane a, lowbias32 on lane b (after folding a into b,
  // so the lanes differ in more than their constants).
  b ^= a >>> 7;
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 16;
  b = Math.imul(b, 0x7feb352d);
  b ^= b >>> 15;
  b = Math.imul(b, 0x846ca68b);
  b ^= b >>> 16;
  // No id hashes to a zero high lane: snapshots refuse one (it marked an empty slot in the
  // tables of version 0.1, whose snapshots must keep loading).
  out[0] = a === 0 ? 1 : a;
  out[1] = b;
}
