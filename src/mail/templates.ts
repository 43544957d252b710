import type { Mail } from './types.js';

/**
 * What a mail is about. The first four carry a one-time link (`<publicUrl>/#<kind>=<token>`);
 * the rest are notices (ASVS 6.3.7) that tell the owner of an address what just happened.
 */
export type MailKind =
  | 'verify-email'
  | 'reset-password'
  | 'confirm-email'
  | 'invitation'
  | 'password-changed'
  | 'password-reset'
  | 'email-change-requested'
  | 'email-changed'
  | 'signup-attempt'
  | 'factor-added'
  | 'factor-removed';

/** The kinds whose mail carries a link; {@link renderMail} requires `link` and `expiresAt` for them. */
export const LINK_KINDS = [
  'verify-email',
  'reset-password',
  'confirm-email',
  'invitation',
] as const;

/** What {@link renderMail} puts into a mail. Times are milliseconds since the epoch. */
export interface MailContext {
  /** The product the user knows (`AuthOptions.productName`). */
  productName: string;
  /** The recipient's address. */
  to: string;
  /** The one-time link, for the link kinds. */
  link?: string;
  /** When the link stops working, for the link kinds. */
  expiresAt?: number;
  /** The address the account moves to (`email-change-requested`, `email-changed`). */
  newEmail?: string;
  /** The factor added or removed, e.g. `authenticator app` or `passkey "laptop"`. */
  factor?: string;
  /** Where the app lives, named in notices as the place to act if it was not the user. */
  appUrl?: string;
  /** When it happened. */
  at: number;
}

/** Identity for the text part, {@link escapeHtml} for the HTML part. */
type Esc = (value: string) => string;

interface Template {
  subject: (product: string) => string;
  /** What happened, one paragraph each. */
  body: (c: MailContext, e: Esc) => string[];
  /** The call to action next to the link (link kinds only). */
  action?: string;
  /** What to do if it was not the recipient. */
  notYou: (c: MailContext, e: Esc) => string;
}

const TEMPLATES: Record<MailKind, Template> = {
  'verify-email': {
    subject: (p) => `Confirm your email address for ${p}`,
    body: (c, e) => [
      `Someone asked on ${when(c)} to confirm that this address, ${e(c.to)}, belongs to a ${e(c.productName)} account.`,
    ],
    action: 'To confirm it, open this link:',
    notYou: () =>
      'If it was not you, ignore this mail: the address is not confirmed unless the link is opened.',
  },
  'reset-password': {
    subject: (p) => `Reset your ${p} password`,
    body: (c, e) => [
      `Someone asked on ${when(c)} to reset the password of the ${e(c.productName)} account of ${e(c.to)}.`,
      'Choosing a new password signs you out on every device.',
    ],
    action: 'To choose a new password, open this link:',
    notYou: () =>
      'If it was not you, ignore this mail: your password stays as it is, and nobody can reset it without this link.',
  },
  'confirm-email': {
    subject: (p) => `Confirm your new email address for ${p}`,
    body: (c, e) => [
      `Someone asked on ${when(c)} to change the email address of a ${e(c.productName)} account to this one, ${e(c.to)}.`,
    ],
    action: 'To confirm the change, open this link:',
    notYou: () =>
      'If it was not you, ignore this mail: no account moves to this address unless the link is opened.',
  },
  invitation: {
    subject: (p) => `You are invited to ${p}`,
    body: (c, e) => [
      `You are invited on ${when(c)} to create a ${e(c.productName)} account with this address, ${e(c.to)}.`,
    ],
    action: 'To accept, open this link and choose a password:',
    notYou: () =>
      'If you did not expect this invitation, ignore this mail: no account is created unless the link is opened.',
  },
  'password-changed': {
    subject: (p) => `Your ${p} password was changed`,
    body: (c, e) => [
      `The password of your ${e(c.productName)} account (${e(c.to)}) was changed on ${when(c)}. Your other devices were signed out.`,
    ],
    notYou: (c, e) =>
      `If it was not you, someone knows your password: use "Forgot password?"${where(c, e)} at once to choose a new one, which signs everyone out.`,
  },
  'password-reset': {
    subject: (p) => `Your ${p} password was reset`,
    body: (c, e) => [
      `The password of your ${e(c.productName)} account (${e(c.to)}) was reset through a mailed link on ${when(c)}. Every device was signed out.`,
    ],
    notYou: (c, e) =>
      `If it was not you, someone can read your mail: secure your email account first, then use "Forgot password?"${where(c, e)} to choose a new password.`,
  },
  'email-change-requested': {
    subject: (p) => `A new email address was requested for your ${p} account`,
    body: (c, e) => [
      `Someone signed in to your ${e(c.productName)} account (${e(c.to)}) asked on ${when(c)} to change its email address to ${e(required(c, 'newEmail'))}.`,
      'Nothing changes unless the link mailed to the new address is opened.',
    ],
    notYou: (c, e) =>
      `If it was not you, someone knows your password: use "Forgot password?"${where(c, e)} at once to choose a new one, which also cancels the change.`,
  },
  'email-changed': {
    subject: (p) => `Your ${p} email address was changed`,
    body: (c, e) => [
      c.newEmail === undefined
        ? `The email address of your ${e(c.productName)} account was changed on ${when(c)}. This address, ${e(c.to)}, can no longer sign in.`
        : `The email address of your ${e(c.productName)} account was changed from ${e(c.to)} to ${e(c.newEmail)} on ${when(c)}. The old address can no longer sign in.`,
    ],
    notYou: (c, e) =>
      `If it was not you, your account may have been taken over: contact the team behind ${e(c.productName)}${where(c, e)} at once.`,
  },
  'signup-attempt': {
    subject: (p) => `Someone tried to sign up to ${p} with your address`,
    body: (c, e) => [
      `Someone tried on ${when(c)} to create a ${e(c.productName)} account with this address, ${e(c.to)}, which already has one. Your account is unchanged.`,
    ],
    notYou: (c, e) =>
      `If it was you, sign in${where(c, e)} instead, or use "Forgot password?" if you lost your password. If it was not you, you can ignore this mail.`,
  },
  'factor-added': {
    subject: (p) => `A second factor was added to your ${p} account`,
    body: (c, e) => [
      `A second factor (${e(c.factor ?? 'unnamed')}) was added to your ${e(c.productName)} account (${e(c.to)}) on ${when(c)}.`,
    ],
    notYou: (c, e) =>
      `If it was not you, someone can sign in as you: use "Forgot password?"${where(c, e)} at once to choose a new password, then remove the factor.`,
  },
  'factor-removed': {
    subject: (p) => `A second factor was removed from your ${p} account`,
    body: (c, e) => [
      `A second factor (${e(c.factor ?? 'unnamed')}) was removed from your ${e(c.productName)} account (${e(c.to)}) on ${when(c)}.`,
    ],
    notYou: (c, e) =>
      `If it was not you, someone can sign in as you: use "Forgot password?"${where(c, e)} at once to choose a new password, then add the factor again.`,
  },
};

/**
 * Renders one mail of `kind`: a plain-text and an HTML part that say which product, what
 * happened and when, and what to do if it was not the recipient; the link kinds also show
 * the link and when it expires. Every value from `c` is escaped in the HTML part. Pure: no
 * I/O, no clock (the time is `c.at`).
 *
 * @throws TypeError when a link kind lacks `link` or `expiresAt`, or `email-change-requested`
 *   lacks `newEmail`: a programming error, not bad input.
 * @example
 * ```ts
 * import { renderMail } from 'notbefore/mail';
 *
 * const mail = renderMail('reset-password', {
 *   productName: 'Acme',
 *   to: 'ada@example.com',
 *   link: 'https://acme.example/#reset-password=abc',
 *   expiresAt: Date.now() + 30 * 60_000,
 *   at: Date.now(),
 * });
 * await mailer.send(mail);
 * ```
 */
export function renderMail(kind: MailKind, c: MailContext): Mail {
  const t = TEMPLATES[kind];
  if (t === undefined) throw new TypeError(`renderMail: unknown mail kind ${String(kind)}`);
  const product = oneLine(c.productName) || 'notbefore';
  const ctx: MailContext = { ...c, productName: product };
  const subject = t.subject(product);
  const plain: Esc = (s) => s;
  const paragraphs = t.body(ctx, plain);
  const htmlParagraphs = t.body(ctx, escapeHtml).map((p) => `<p>${p}</p>`);
  if (t.action !== undefined) {
    const link = required(ctx, 'link');
    const expiry = `The link works once and expires ${expiryText(ctx.at, required(ctx, 'expiresAt'))}.`;
    paragraphs.push(`${t.action}\n${link}`, expiry);
    const href = escapeHtml(link);
    htmlParagraphs.push(
      `<p>${t.action}<br><a href="${href}">${href}</a></p>`,
      `<p>${escapeHtml(expiry)}</p>`,
    );
  }
  paragraphs.push(t.notYou(ctx, plain));
  htmlParagraphs.push(`<p>${t.notYou(ctx, escapeHtml)}</p>`);
  const footer = `This mail was sent by ${product} to ${ctx.to}.`;
  const text = `${[...paragraphs, `-- \n${footer}`].join('\n\n')}\n`;
  const html = [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>`,
    '<body style="font-family: sans-serif; line-height: 1.5">',
    ...htmlParagraphs,
    `<p style="color: #666; font-size: small">${escapeHtml(footer)}</p>`,
    '</body></html>',
    '',
  ].join('\n');
  return { to: ctx.to, subject, text, html };
}

/**
 * Escapes the five characters that matter in HTML text and attribute values; what
 * {@link renderMail} applies to every value it puts into the HTML part.
 *
 * @example
 * ```ts
 * import { escapeHtml } from 'notbefore/mail';
 *
 * escapeHtml('<b>"Ada" & co</b>'); // '&lt;b&gt;&quot;Ada&quot; &amp; co&lt;/b&gt;'
 * ```
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function required<K extends 'link' | 'expiresAt' | 'newEmail'>(
  c: MailContext,
  key: K,
): NonNullable<MailContext[K]> {
  const value = c[key];
  if (value === undefined) throw new TypeError(`renderMail: this mail kind needs ${key}`);
  return value as NonNullable<MailContext[K]>;
}

/** A product name is a header value in the subject: no line breaks, no runs of blanks. */
function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

/** UTC, spelled out: the reader's time zone is unknown, and `Z` timestamps are cryptic. */
function formatTime(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', 'UTC');
}

function when(c: MailContext): string {
  return formatTime(c.at);
}

function where(c: MailContext, e: Esc): string {
  return c.appUrl === undefined ? '' : ` on ${e(c.appUrl)}`;
}

function expiryText(at: number, expiresAt: number): string {
  const minutes = Math.round((expiresAt - at) / 60_000);
  const span =
    minutes >= 2 * 24 * 60 && minutes % (24 * 60) === 0
      ? `${minutes / (24 * 60)} days`
      : minutes >= 2 * 60 && minutes % 60 === 0
        ? `${minutes / 60} hours`
        : `${minutes} minutes`;
  return minutes > 0 ? `in ${span}, on ${formatTime(expiresAt)}` : `on ${formatTime(expiresAt)}`;
}
