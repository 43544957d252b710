import { parseArgs } from 'node:util';
import {
  type Database,
  envName,
  firstSentence,
  ownUrl,
  parseDatabase,
  parseMail,
  parsePublicUrl,
  UsageError,
} from './args.js';
import { StartupError } from './errors.js';

export const USERS_USAGE = `Usage: notbefore users invite EMAIL [options]

Invites EMAIL to create an account: prints the invitation link (valid 7 days; a newer
invitation of the same address makes the older link stop working) and, with --smtp, mails it.

  --role ROLE          a role the account gets (repeatable; default none), e.g. --role admin
  --db URL             the server's database: sqlite:FILE (default sqlite:notbefore.db) or postgres://…
  --public-url URL     where users open the app: the base of the link (default the URL serve
                       listens on: NOTBEFORE_HOST and NOTBEFORE_PORT or PORT, else http://127.0.0.1:3000)
  --smtp URL           mail the invitation: smtp://user:pass@host:port or smtps://…
  --mail-from ADDRESS  the sender (needed with --smtp)

--db, --public-url, --smtp and --mail-from also read NOTBEFORE_<OPTION>, as serve does.`;

export interface InviteConfig {
  email: string;
  roles: string[];
  db: Database;
  publicUrl: string;
  smtp: string | undefined;
  mailFrom: string | undefined;
}

type Env = Record<string, string | undefined>;

const OPTIONS = {
  role: { type: 'string', multiple: true },
  db: { type: 'string' },
  'public-url': { type: 'string' },
  smtp: { type: 'string' },
  'mail-from': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `users invite EMAIL [--role ROLE]… …`: flags win over NOTBEFORE_* variables. */
export function parseInviteArgs(argv: string[], env: Env = process.env): InviteConfig | 'help' {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') return 'help';
  if (sub !== 'invite') throw new UsageError(`unknown users command "${sub}"`);
  let parsed: ReturnType<
    typeof parseArgs<{
      args: string[];
      options: typeof OPTIONS;
      strict: true;
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(firstSentence((error as Error).message));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  if (positionals.length !== 1) {
    throw new UsageError('users invite takes one EMAIL');
  }
  const email = positionals[0] as string;
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new UsageError(`"${email}" is not an email address`);
  const str = (flag: 'db' | 'public-url' | 'smtp' | 'mail-from'): string | undefined =>
    values[flag] ?? (env[envName(flag)] === '' ? undefined : env[envName(flag)]);
  const roles = values.role ?? [];
  for (const role of roles) {
    if (!/^[\w.:-]{1,64}$/.test(role)) {
      throw new UsageError(`--role "${role}" must be 1 to 64 letters, digits, _ . : or -`);
    }
  }
  const publicUrl = str('public-url');
  const port = env.NOTBEFORE_PORT || env.PORT || '3000';
  return {
    email,
    roles,
    db: parseDatabase(str('db') ?? 'sqlite:notbefore.db'),
    publicUrl:
      publicUrl === undefined
        ? ownUrl(env.NOTBEFORE_HOST || '127.0.0.1', Number(port))
        : parsePublicUrl(publicUrl),
    ...parseMail(str('smtp'), str('mail-from')),
  };
}

/** What `users invite` printed: the link on stdout, a summary (and any mail failure) on stderr. */
export interface InviteOutput {
  out(line: string): void;
  err(line: string): void;
}

/**
 * Creates the invitation in the server's store, prints its link and, with `--smtp`, mails it
 * (one attempt, bounded by the SMTP timeouts). Resolves with the exit code: 0, or 1 when the
 * mail could not be sent (the link printed still works).
 */
export async function inviteCommand(config: InviteConfig, io: InviteOutput): Promise<number> {
  const [{ createAuth }, { Keyring }, { openStore, why }] = await Promise.all([
    import('../sessions/auth.js'),
    import('../tokens/keyring.js'),
    import('./store.js'),
  ]);
  const mailer =
    config.smtp === undefined
      ? undefined
      : (await import('../entries/mail.js')).smtpMailer(config.smtp, {
          from: config.mailFrom ?? '',
        });
  const store = await openStore(config.db);
  const failures: unknown[] = [];
  const auth = createAuth({
    store,
    // Inviting signs nothing: keys of its own leave the store's keys as serve made them
    // (and make none there with an --alg serve might not use).
    keys: Keyring.generate('EdDSA'),
    publicUrl: config.publicUrl,
    ...(mailer === undefined ? {} : { mailer }),
    onError: (error) => failures.push(error),
  });
  try {
    let link: string;
    let expiresAt: number;
    try {
      ({ link, expiresAt } = await auth.invite({ email: config.email, roles: config.roles }));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'EMAIL_TAKEN') throw new StartupError(`${config.email} already has an account`);
      if (code === 'VALIDATION_FAILED') throw new UsageError((error as Error).message);
      throw new StartupError(`cannot invite ${config.email}: ${why(error)}`);
    }
    io.out(link);
    const as = config.roles.length === 0 ? '' : ` as ${config.roles.join(', ')}`;
    io.err(
      `notbefore: invited ${config.email}${as}; the link works once, until ${new Date(expiresAt).toISOString()}` +
        (mailer === undefined ? '' : '; mailing it…'),
    );
  } finally {
    // Closing gives the queued mail its attempt before the process ends.
    await auth.close().catch(() => {});
    await store.close().catch(() => {});
  }
  if (failures.length > 0) {
    const last = failures.at(-1) as { message?: string; cause?: { message?: string } };
    io.err(
      `notbefore: the invitation could not be mailed (${last.cause?.message ?? last.message}); the link above still works`,
    );
    return 1;
  }
  if (mailer !== undefined) io.err(`notbefore: mailed to ${config.email}`);
  return 0;
}
