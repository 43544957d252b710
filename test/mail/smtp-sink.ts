/**
 * A real SMTP server for tests: `smtp-server` on a free port, every mail parsed with
 * `mailparser`. It accepts any credentials (and records them), never offers STARTTLS, and
 * can be told to refuse mails (`failNext`) or answer slowly (`delayMs`).
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SinkMail {
  /** The first recipient address of the `To` header. */
  to: string;
  /** The `From` header as written (name and address). */
  from: string;
  /** The sender address alone. */
  fromAddress: string;
  subject: string;
  text: string;
  html: string;
  /** Every header, lower-case names. */
  headers: Map<string, unknown>;
  /** Envelope recipients (RCPT TO). */
  rcptTo: string[];
  /** The user the client authenticated as, if it did. */
  user: string | undefined;
}

export interface SmtpSink {
  /** `smtp://127.0.0.1:<port>` (no credentials: the sink accepts any). */
  readonly url: string;
  readonly port: number;
  /** Every mail received so far, in order. */
  readonly mails: SinkMail[];
  /** Credentials clients logged in with, in order. */
  readonly logins: { username: string; password: string }[];
  /** Wait this long before answering each mail's data (a slow server). */
  delayMs: number;
  /**
   * The first mail not yet returned by `next` that matches, waiting for it up to `timeoutMs`
   * (default 10 s); rejects when none comes.
   */
  next(predicate?: (mail: SinkMail) => boolean, timeoutMs?: number): Promise<SinkMail>;
  /** Refuse the next `n` mails with a temporary failure (451). */
  failNext(n: number): void;
  /** The token of the `#<kind>=<token>` link in the mail's text; throws if there is none. */
  linkIn(mail: SinkMail, kind: string): string;
  /** The whole link (`<publicUrl>/#<kind>=<token>`) in the mail's text; throws if there is none. */
  urlIn(mail: SinkMail, kind: string): string;
  close(): Promise<void>;
}

export async function startSmtpSink(options: { delayMs?: number } = {}): Promise<SmtpSink> {
  const mails: SinkMail[] = [];
  const taken = new Set<SinkMail>();
  const logins: { username: string; password: string }[] = [];
  const waiters = new Set<() => void>();
  let failures = 0;

  const state = { delayMs: options.delayMs ?? 0 };
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // Pooled clients keep idle connections open; close() should not wait 30 s for them.
    closeTimeout: 200,
    onAuth(auth, _session, callback) {
      logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
      callback(null, { user: auth.username ?? '' });
    },
    onData(stream, session, callback) {
      const refuse = failures > 0;
      if (refuse) failures -= 1;
      simpleParser(stream)
        .then(async (parsed) => {
          if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
          if (refuse) {
            const error = Object.assign(new Error('try again later'), { responseCode: 451 });
            callback(error);
            return;
          }
          const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
          mails.push({
            to: to?.value[0]?.address ?? '',
            from: parsed.from?.text ?? '',
            fromAddress: parsed.from?.value[0]?.address ?? '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            headers: parsed.headers,
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            user: typeof session.user === 'string' ? session.user : undefined,
          });
          callback();
          for (const wake of [...waiters]) wake();
        })
        .catch((error: unknown) => callback(error as Error));
    },
  });
  server.on('error', () => {
    // Client resets in the timeout tests are expected; the sink keeps serving.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;

  const find = (predicate: (mail: SinkMail) => boolean): SinkMail | undefined =>
    mails.find((m) => !taken.has(m) && predicate(m));

  const link = (mail: SinkMail, kind: string): { url: string; token: string } => {
    const escaped = kind.replace(/[^a-z-]/g, '');
    const match = new RegExp(`(\\S*#${escaped}=([A-Za-z0-9_-]+))`).exec(mail.text);
    if (!match?.[1] || !match[2]) throw new Error(`no #${kind}= link in mail "${mail.subject}"`);
    return { url: match[1], token: match[2] };
  };

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    logins,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    next(predicate = () => true, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const mail = find(predicate);
          if (mail === undefined) return false;
          taken.add(mail);
          waiters.delete(wake);
          clearTimeout(timer);
          resolve(mail);
          return true;
        };
        const wake = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          const seen = mails.map((m) => `${m.to}: ${m.subject}`).join('; ') || 'none';
          reject(new Error(`no matching mail within ${timeoutMs} ms (received: ${seen})`));
        }, timeoutMs);
        if (!check()) waiters.add(wake);
      });
    },
    failNext(n) {
      failures = n;
    },
    linkIn: (mail, kind) => link(mail, kind).token,
    urlIn: (mail, kind) => link(mail, kind).url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
