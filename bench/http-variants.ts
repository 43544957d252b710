export const HTTP_VARIANTS = ['none', 'notbefore', 'fastify-jwt', 'fastify-jwt-cache'] as const;
export type HttpVariant = (typeof HTTP_VARIANTS)[number];

/** True when `moduleUrl` is the script node was started with (not an import). */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  const path = new URL(moduleUrl).pathname;
  return path === entry || path.replace(/\.[cm]?[jt]s$/, '') === entry.replace(/\.[cm]?[jt]s$/, '');
}
