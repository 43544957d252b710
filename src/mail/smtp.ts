// The SMTP mailer over nodemailer, which is an optional peer: it is handed in (by
// src/mail/index.ts or the package entry), never imported here at run time.
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { Mail, Mailer, SmtpMailerOptions } from './types.js';

/** The one nodemailer function used; injected so this module does not load the peer. */
export type CreateTransport = (
  options: SMTPTransport.Options,
) => Transporter<SMTPTransport.SentMessageInfo>;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Builds a {@link Mailer} on `createTransport` (nodemailer's). See `smtpMailer`. */
export function createSmtpMailer(
  createTransport: CreateTransport,
  url: string,
  options: SmtpMailerOptions,
): Mailer {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError('smtpMailer: the URL must be smtp://[user:pass@]host[:port] or smtps://…');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new TypeError('smtpMailer: the URL must start with smtp:// or smtps://');
  }
  if (parsed.hostname === '') throw new TypeError('smtpMailer: the URL names no host');
  const from = options?.from;
  if (typeof from !== 'string' || from.trim() === '' || /[\r\n]/.test(from)) {
    throw new TypeError(
      'smtpMailer: `from` must be one sender address, e.g. "Acme <no-reply@acme.example>"',
    );
  }
  const secure = parsed.protocol === 'smtps:';
  const user = decodeURIComponent(parsed.username);
  const pass = decodeURIComponent(parsed.password);
  const ms = (value: number | undefined, fallback: number, name: string): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(`smtpMailer: ${name} must be a positive whole number of ms`);
    }
    return value;
  };
  const connectionTimeout = ms(options.connectionTimeoutMs, 10_000, 'connectionTimeoutMs');
  const greetingTimeout = ms(options.greetingTimeoutMs, 10_000, 'greetingTimeoutMs');
  const socketTimeout = ms(options.socketTimeoutMs, 20_000, 'socketTimeoutMs');
  const sendTimeout = ms(options.sendTimeoutMs, 30_000, 'sendTimeoutMs');
  const requireTLS =
    options.requireTLS ?? (!secure && pass !== '' && !LOOPBACK.has(parsed.hostname));

  const transport = createTransport({
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? (secure ? 465 : 587) : Number(parsed.port),
    secure,
    requireTLS,
    ...(user === '' ? {} : { auth: { user, pass } }),
    connectionTimeout,
    greetingTimeout,
    socketTimeout,
    dnsTimeout: connectionTimeout,
    // One connection per mail: a connection a slow send left behind cannot hold up the next.
    pool: false,
    logger: false,
  });

  return {
    async send(mail: Mail) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`SMTP send took longer than ${sendTimeout} ms`)),
          sendTimeout,
        );
      });
      try {
        await Promise.race([
          transport.sendMail({
            from,
            to: mail.to,
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
            // RFC 3834: no out-of-office replies to a machine.
            headers: { 'Auto-Submitted': 'auto-generated' },
          }),
          deadline,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      transport.close();
    },
  };
}
