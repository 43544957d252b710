import { describe, expect, it } from 'vitest';
import { escapeHtml, LINK_KINDS, type MailKind, renderMail } from '../../src/mail/templates.js';

const AT = Date.UTC(2026, 2, 14, 9, 30);
const ALL: MailKind[] = [
  'verify-email',
  'reset-password',
  'confirm-email',
  'invitation',
  'password-changed',
  'password-reset',
  'email-change-requested',
  'email-changed',
  'signup-attempt',
  'factor-added',
  'factor-removed',
];
const EXPIRY: Record<(typeof LINK_KINDS)[number], [number, string]> = {
  'verify-email': [24 * 3600_000, 'in 24 hours'],
  'reset-password': [30 * 60_000, 'in 30 minutes'],
  'confirm-email': [24 * 3600_000, 'in 24 hours'],
  invitation: [7 * 24 * 3600_000, 'in 7 days'],
};

function context(kind: MailKind, over: Record<string, unknown> = {}) {
  const isLink = (LINK_KINDS as readonly string[]).includes(kind);
  const ttl = isLink ? EXPIRY[kind as (typeof LINK_KINDS)[number]][0] : 0;
  return {
    productName: 'Acme',
    to: 'ada@example.com',
    at: AT,
    newEmail: 'ada@new.example',
    factor: 'authenticator app',
    ...(isLink ? { link: `https://acme.example/#${kind}=tok_EN-123`, expiresAt: AT + ttl } : {}),
    ...over,
  };
}

describe('renderMail', () => {
  it.each(ALL)(
    '%s: both parts name the product, the time, and what to do if it was not you',
    (kind) => {
      const mail = renderMail(kind, context(kind));
      expect(mail.to).toBe('ada@example.com');
      expect(mail.subject).toContain('Acme');
      expect(mail.subject).not.toMatch(/[\r\n]/);
      for (const part of [mail.text, mail.html]) {
        expect(part).toContain('Acme');
        expect(part).toContain('Sat, 14 Mar 2026 09:30:00 UTC');
        expect(part).toMatch(/If (it was|you did) not/);
      }
      expect(mail.html).toMatch(/^<!doctype html>/);
      expect(mail.text).not.toMatch(/<[a-z]/);
    },
  );

  it.each(LINK_KINDS)('%s: shows the link and when it expires', (kind) => {
    const mail = renderMail(kind, context(kind));
    const link = `https://acme.example/#${kind}=tok_EN-123`;
    expect(mail.text).toContain(`\n${link}\n`);
    expect(mail.html).toContain(`<a href="${link}">${link}</a>`);
    const [, span] = EXPIRY[kind];
    expect(mail.text).toContain(span);
    expect(mail.html).toContain(span);
    expect(mail.text).toMatch(/works once/);
  });

  it.each(LINK_KINDS)('%s: refuses to render without a link or an expiry', (kind) => {
    expect(() => renderMail(kind, context(kind, { link: undefined }))).toThrow(TypeError);
    expect(() => renderMail(kind, context(kind, { expiresAt: undefined }))).toThrow(TypeError);
  });

  it('notices carry no link even when one is passed', () => {
    const mail = renderMail(
      'password-changed',
      context('password-changed', { link: 'https://x/#a=b' }),
    );
    expect(mail.text).not.toContain('https://x/');
  });

  it('email-change-requested names the new address, and needs it', () => {
    const mail = renderMail('email-change-requested', context('email-change-requested'));
    expect(mail.text).toContain('ada@new.example');
    expect(() =>
      renderMail(
        'email-change-requested',
        context('email-change-requested', { newEmail: undefined }),
      ),
    ).toThrow(TypeError);
  });

  it('factor notices name the factor', () => {
    const mail = renderMail(
      'factor-added',
      context('factor-added', { factor: 'passkey "laptop"' }),
    );
    expect(mail.text).toContain('passkey "laptop"');
    expect(mail.html).toContain('passkey &quot;laptop&quot;');
  });

  it('notices point to the app when appUrl is given', () => {
    const mail = renderMail(
      'password-changed',
      context('password-changed', { appUrl: 'https://acme.example' }),
    );
    expect(mail.text).toContain('"Forgot password?" on https://acme.example');
  });

  it.each(ALL)('%s: every interpolated value is escaped in the HTML part', (kind) => {
    const evil = '<img src=x onerror="alert(1)">&\'';
    const mail = renderMail(
      kind,
      context(kind, {
        productName: `Acme ${evil}`,
        to: `ada${evil}@example.com`,
        newEmail: `new${evil}@example.com`,
        factor: `passkey ${evil}`,
        appUrl: `https://acme.example/${evil}`,
        ...((LINK_KINDS as readonly string[]).includes(kind)
          ? { link: `https://acme.example/"><script>x</script>#${kind}=t` }
          : {}),
      }),
    );
    expect(mail.html).not.toContain('<img');
    expect(mail.html).not.toContain('<script');
    expect(mail.html).not.toContain('onerror="');
    expect(mail.html).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/);
    // The text part is plain text: the values appear as they are.
    expect(mail.text).toContain(`ada${evil}@example.com`);
  });

  it('a product name cannot break the subject line', () => {
    const mail = renderMail(
      'password-reset',
      context('password-reset', { productName: 'Acme\r\nBcc: x@evil' }),
    );
    expect(mail.subject).toBe('Your Acme Bcc: x@evil password was reset');
  });

  it('renders the same mail for the same input (pure)', () => {
    expect(renderMail('invitation', context('invitation'))).toEqual(
      renderMail('invitation', context('invitation')),
    );
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters and nothing else', () => {
    expect(escapeHtml(`<a href="x">&'é</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&amp;&#39;é&lt;/a&gt;',
    );
  });
});
