/**
 * ROCA (CVE-2017-15361) fingerprint: moduli from the flawed Infineon generator satisfy
 * n mod p ∈ ⟨65537⟩ (mod p) for every small prime p below; a sound modulus fails that
 * for some prime with overwhelming probability. Runs once per key import.
 */
const ROCA_PRIMES = [
  3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101,
  103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

export function isRocaFingerprint(modulus: bigint): boolean {
  for (const p of ROCA_PRIMES) {
    const residue = Number(modulus % BigInt(p));
    const generator = 65537 % p;
    let element = 1;
    let inSubgroup = false;
    for (let i = 0; i < p; i++) {
      if (element === residue) {
        inSubgroup = true;
        break;
      }
      element = (element * generator) % p;
    }
    if (!inSubgroup) return false;
  }
  return true;
}
