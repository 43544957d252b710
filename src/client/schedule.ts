/**
 * When to refresh: a quarter of the token's remaining life before it expires (at most a
 * minute early), minus up to a tenth more (at most 5 s) of random jitter so that tabs and
 * devices do not all wake at the same instant.
 */
export function refreshDelay(expiresAt: number, now: number, random: number): number {
  const life = expiresAt - now;
  if (life <= 0) return 0;
  const lead = Math.min(60_000, life * 0.25);
  const jitter = random * Math.min(5_000, life * 0.1);
  return Math.max(0, Math.round(life - lead - jitter));
}
