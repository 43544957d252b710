// `notbefore/mail` at run time. Its types are ../mail/index.js's own (package.json "exports").
// nodemailer is an optional peer needed by smtpMailer alone: logMailer, the queue and the
// templates work without it, so this wrapper loads it if present and smtpMailer names it
// when it is not.
import type * as Mail from '../mail/index.js';
import { type CreateTransport, createSmtpMailer } from '../mail/smtp.js';
import { MissingPeerError } from './peers.js';

export { logMailer } from '../mail/log.js';
export { createMailQueue } from '../mail/queue.js';
export { escapeHtml, LINK_KINDS, renderMail } from '../mail/templates.js';

/** nodemailer's createTransport, or undefined when nodemailer is not installed. */
async function loadCreateTransport(): Promise<CreateTransport | undefined> {
  try {
    const nodemailer = await import('nodemailer');
    return nodemailer.createTransport as CreateTransport;
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown } | null;
    const missing =
      e?.code === 'ERR_MODULE_NOT_FOUND' &&
      typeof e.message === 'string' &&
      e.message.includes("'nodemailer'");
    if (missing) return undefined;
    throw error;
  }
}

const createTransport = await loadCreateTransport();

export const smtpMailer: typeof Mail.smtpMailer = (url, options) => {
  if (createTransport === undefined)
    throw new MissingPeerError('smtpMailer (notbefore/mail)', ['nodemailer']);
  return createSmtpMailer(createTransport, url, options);
};

// Compile-time: every value export of ../mail/index.js is exported here too.
const listed: { [K in keyof typeof Mail]: true } = {
  smtpMailer: true,
  logMailer: true,
  createMailQueue: true,
  escapeHtml: true,
  LINK_KINDS: true,
  renderMail: true,
};
void listed;
