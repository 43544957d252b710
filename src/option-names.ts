/**
 * Shared by the option checks of createAuth and createVerifier: how to name what a
 * caller passed, and which known option a misspelt name most likely meant.
 */

/** What a value is, for "got …": never the value of a string, which may hold a password. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object') {
    if (typeof (value as { then?: unknown }).then === 'function')
      return 'a Promise (pass the value, not a promise of it)';
    const name = (value as object).constructor?.name;
    return name !== undefined && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}

/** Optimal string alignment distance: edits, with a swap of neighbours counted as one. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name a misspelt one most likely meant, if any is close enough. */
export function didYouMean(
  name: string,
  known: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): string | undefined {
  if (Object.hasOwn(aliases, name)) return aliases[name];
  const fold = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  const folded = fold(name);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const dist = distance(folded, fold(candidate));
    if (dist < bestDistance) {
      best = candidate;
      bestDistance = dist;
    }
  }
  // Short names are only one edit from many others: ask for more likeness there.
  const allowed = folded.length <= 4 ? 1 : folded.length <= 8 ? 2 : 3;
  return bestDistance <= allowed ? best : undefined;
}
