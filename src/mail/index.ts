/**
 * `notbefore/mail`: mail for the account lifecycle (verification, password reset, email
 * change, invitations, notices). `smtpMailer` needs `nodemailer` (`npm i nodemailer`);
 * `logMailer`, `createMailQueue` and `renderMail` need nothing.
 *
 * @module notbefore/mail
 */
// The types the package entry (src/entries/mail.ts) publishes, and the implementation the
// repository's own code and tests import. The entry builds smtpMailer without a static import
// of nodemailer, so the rest works where nodemailer is not installed.
import { createTransport } from 'nodemailer';
import { type CreateTransport, createSmtpMailer } from './smtp.js';
import type { Mailer, SmtpMailerOptions } from './types.js';

export { logMailer, type MailLog } from './log.js';
export {
  createMailQueue,
  type MailFailure,
  type MailQueue,
  type MailQueueOptions,
  type MailTimers,
} from './queue.js';
export {
  escapeHtml,
  LINK_KINDS,
  type MailContext,
  type MailKind,
  renderMail,
} from './templates.js';
export type { Mail, Mailer, SmtpMailerOptions } from './types.js';

/**
 * A {@link Mailer} that sends over SMTP (nodemailer, an optional peer: `npm i nodemailer`).
 * `smtps://` is TLS from the first byte (port 465 by default); `smtp://` uses STARTTLS when
 * the server offers it (port 587 by default) and insists on it when the URL carries a
 * password for a host other than the loopback. Credentials go in the URL, percent-encoded.
 * Connecting, the greeting, each reply and the whole send are bounded by timeouts, so a dead
 * or slow server makes `send` reject, never hang.
 *
 * @param url - `smtp://user:pass@host:port` or `smtps://…`.
 * @param options - `from` (required) and the timeouts.
 * @throws TypeError for a URL that is not smtp:// or smtps://, or a missing `from`.
 * @example
 * ```ts
 * import { createAuth } from 'notbefore';
 * import { smtpMailer } from 'notbefore/mail';
 *
 * const auth = createAuth({
 *   mailer: smtpMailer(process.env.SMTP_URL!, { from: 'Acme <no-reply@acme.example>' }),
 *   publicUrl: 'https://acme.example',
 * });
 * ```
 */
export function smtpMailer(url: string, options: SmtpMailerOptions): Mailer {
  return createSmtpMailer(createTransport as CreateTransport, url, options);
}
