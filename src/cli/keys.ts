import { parseArgs } from 'node:util';
import { Keyring } from '../tokens/keyring.js';
import { firstSentence, UsageError } from './args.js';

export const KEYS_USAGE = `Usage: notbefore keys generate [--alg EdDSA|ES256|HS256]

Prints a private JWKS to stdout. Keep it secret; pass it to \`notbefore serve --keys FILE\`.`;

/** `notbefore keys generate [--alg]`: prints a fresh private JWKS. */
export function keysCommand(argv: string[]): string {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') return KEYS_USAGE;
  if (sub !== 'generate')
    throw new UsageError(`unknown keys command "${sub}" (try: keys generate)`);
  let alg: string;
  try {
    const { values } = parseArgs({
      args: rest,
      options: { alg: { type: 'string' } },
      strict: true,
    });
    alg = values.alg ?? process.env.NOTBEFORE_ALG ?? 'EdDSA';
  } catch (error) {
    throw new UsageError(firstSentence((error as Error).message));
  }
  if (alg !== 'EdDSA' && alg !== 'ES256' && alg !== 'HS256') {
    throw new UsageError(`--alg must be EdDSA, ES256 or HS256 (got "${alg}")`);
  }
  return JSON.stringify(Keyring.generate(alg).toPrivateJwks(), null, 2);
}
