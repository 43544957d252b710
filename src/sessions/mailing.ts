import type { MailQueue } from '../mail/queue.js';
import { type MailContext, type MailKind, renderMail } from '../mail/templates.js';
import type { Mail } from '../mail/types.js';
import type { AuthContext } from './context.js';

/**
 * Outgoing mail of the account lifecycle: rendering with this instance's product name, link
 * base and clock, and queueing off the request path.
 */

/** What a mail says besides product, recipient and time, which `renderFor` fills in. */
export type MailDetails = Omit<MailContext, 'productName' | 'to' | 'at' | 'appUrl'>;

/**
 * Renders one mail of the account lifecycle with this instance's product name, link base and
 * clock. No I/O: the forgot-password path renders whether or not it will send, so known and
 * unknown addresses cost the same.
 */
export function renderFor(
  ctx: AuthContext,
  kind: MailKind,
  to: string,
  details: MailDetails = {},
): Mail {
  const context: MailContext = {
    ...details,
    productName: ctx.resolved.productName,
    to,
    at: ctx.clock.now(),
  };
  if (ctx.resolved.publicUrl !== null) context.appUrl = ctx.resolved.publicUrl;
  return renderMail(kind, context);
}

/**
 * Queues a mail off the request path: never throws, never waits. The state change it reports
 * has already committed. Without a mailer nothing is sent (notices are a courtesy there;
 * operations whose point is a link check `requireMailer` first).
 */
export function sendMail(ctx: AuthContext, mail: Mail): void {
  ctx.mailQueue?.enqueue(mail);
}

/**
 * Renders and queues one mail (`sendMail(renderFor(…))`): what `ctx.mail` does. A template
 * that cannot render is a bug, told to `onError`; it never fails the request whose change has
 * committed.
 */
export function queueMail(
  ctx: AuthContext,
  kind: MailKind,
  to: string,
  details: MailDetails = {},
): void {
  if (ctx.mailQueue === null) return;
  try {
    sendMail(ctx, renderFor(ctx, kind, to, details));
  } catch (error) {
    ctx.reportError(error);
  }
}

/** Bad configuration fails loudly: an operation whose whole point is a mailed link. */
export function requireMailer(ctx: AuthContext, operation: string): void {
  if (ctx.mailQueue === null)
    throw new TypeError(`${operation} needs the createAuth option mailer (it mails a link)`);
}

/**
 * The queue behind one `setImmediate`: `enqueue` only schedules. Handing a mail to the
 * mailer starts work at once (nodemailer builds the message and opens a socket: 1–35 ms
 * measured), which would otherwise run inside the request that queued it, so a request that
 * mails (a known address) would take longer than one that does not. `drain` and `close`
 * hand over what is still scheduled first, so nothing is lost.
 */
export function offRequestPath(queue: MailQueue): MailQueue {
  const scheduled = new Map<NodeJS.Immediate, Mail>();
  const handOver = () => {
    for (const [handle, mail] of scheduled) {
      clearImmediate(handle);
      queue.enqueue(mail);
    }
    scheduled.clear();
  };
  return {
    enqueue(mail) {
      const handle = setImmediate(() => {
        scheduled.delete(handle);
        queue.enqueue(mail);
      });
      scheduled.set(handle, mail);
    },
    drain() {
      handOver();
      return queue.drain();
    },
    close() {
      handOver();
      return queue.close();
    },
  };
}
