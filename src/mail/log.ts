import type { Mail, Mailer } from './types.js';

/** Where {@link logMailer} writes: a pino-style logger, or a function taking one line. */
export type MailLog =
  | {
      /** Writes one entry: the mail as `fields.mail`, and a fixed message. */
      info(fields: Record<string, unknown>, message: string): void;
    }
  | ((line: string) => void);

const LINK = /\S+#(?:verify-email|reset-password|confirm-email|invitation)=[A-Za-z0-9_-]+/;

/**
 * A mailer that sends nothing: it writes each mail (recipient, subject, plain text, and the
 * link on its own) to the log. The default of `notbefore serve` without `--smtp`, so a
 * development setup is one command and its links are in the log. Never use it in
 * production: whoever reads the log can open every link.
 *
 * @param log - A pino-style logger (`info(fields, message)`) or a function taking one line;
 *   default `console.log`.
 * @example
 * ```ts
 * import { createAuth } from 'notbefore';
 * import { logMailer } from 'notbefore/mail';
 *
 * const auth = createAuth({ mailer: logMailer(), publicUrl: 'http://localhost:3000' });
 * ```
 */
export function logMailer(log: MailLog = (line) => console.log(line)): Mailer {
  return {
    async send(mail: Mail) {
      const link = LINK.exec(mail.text)?.[0];
      if (typeof log === 'function') {
        log(
          [
            `mail to ${mail.to}: ${mail.subject}`,
            ...(link === undefined ? [] : [`link: ${link}`]),
            mail.text.trimEnd(),
          ].join('\n'),
        );
      } else {
        log.info(
          {
            mail: {
              to: mail.to,
              subject: mail.subject,
              ...(link === undefined ? {} : { link }),
              text: mail.text,
            },
          },
          'mail logged, not sent (logMailer)',
        );
      }
    },
  };
}
