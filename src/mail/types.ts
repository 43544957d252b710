/**
 * One mail, ready to send: both parts rendered, every value already escaped for the HTML
 * part. The sender address is the mailer's own (`smtpMailer(url, { from })`).
 */
export interface Mail {
  /** The recipient's address. */
  to: string;
  /** The subject line (plain text). */
  subject: string;
  /** The plain-text part. */
  text: string;
  /** The HTML part. */
  html: string;
}

/**
 * The port through which notbefore sends mail: `createAuth({ mailer })`. `send` resolves once
 * the mail is handed over (an SMTP server accepted it) and rejects when it was not; the
 * caller queues and retries (see `createMailQueue`), so a mailer does not retry by itself.
 */
export interface Mailer {
  /** Hands one mail over; rejects when it could not. */
  send(mail: Mail): Promise<void>;
  /** Releases connections (SMTP pool); called by `auth.close()`. */
  close?(): Promise<void>;
}

/** Options of `smtpMailer`. Every wait is bounded: a dead or slow server never hangs a send. */
export interface SmtpMailerOptions {
  /** The sender, e.g. `Acme <no-reply@acme.example>`. */
  from: string;
  /** Wait for the TCP (and TLS) connection, ms (default 10 000). */
  connectionTimeoutMs?: number;
  /** Wait for the server's greeting once connected, ms (default 10 000). */
  greetingTimeoutMs?: number;
  /** Longest silence from the server during a send, ms (default 20 000). */
  socketTimeoutMs?: number;
  /** Longest a whole send may take, ms (default 30 000): a server that answers slowly but steadily is cut off too. */
  sendTimeoutMs?: number;
  /**
   * Refuse to send without TLS (STARTTLS on `smtp://`). Default: on when the URL carries a
   * password for a host other than the loopback, so a password never crosses the network
   * in clear text; `smtps://` is TLS from the first byte anyway.
   */
  requireTLS?: boolean;
}
