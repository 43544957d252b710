/**
 * Frameworks and drivers are optional peer dependencies: an app installs only those it
 * uses. Each subpath that needs some checks them here before it loads the module that
 * imports them, so a missing one fails with one line that names what to install, instead
 * of a resolution error pointing inside dist/.
 */
export class MissingPeerError extends Error {
  override readonly name = 'MissingPeerError';
  readonly code = 'ERR_NOTBEFORE_MISSING_PEER';
  readonly packages: readonly string[];

  constructor(feature: string, packages: readonly string[]) {
    const names =
      packages.length === 1
        ? `${packages[0]}, which is`
        : `${packages.slice(0, -1).join(', ')} and ${packages.at(-1)}, which are`;
    super(`${feature} needs ${names} not installed: npm i ${packages.join(' ')}`);
    this.packages = packages;
  }
}

/** True when `error` says that `name` itself cannot be found (not one of its dependencies). */
function notFound(error: unknown, name: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return (
    e?.code === 'ERR_MODULE_NOT_FOUND' &&
    typeof e.message === 'string' &&
    e.message.includes(`'${name}'`)
  );
}

/** Loads each package; throws one MissingPeerError listing all that are not installed. */
export async function requirePeers(feature: string, packages: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const name of packages) {
    try {
      await import(name);
    } catch (error) {
      if (!notFound(error, name)) throw error;
      missing.push(name);
    }
  }
  if (missing.length > 0) throw new MissingPeerError(feature, missing);
}

/**
 * Compile-time only: `listed` must name every value export of `module`, so a wrapper that
 * re-exports it by name fails to type-check when the module gains an export (its types,
 * which the package's `exports` point at, would promise a value the wrapper lacks).
 */
export function reexportsAll<M extends object>(
  _module: M,
  _listed: { [K in keyof M]: true },
): void {}
