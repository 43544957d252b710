// `notbefore serve --smtp …` and `notbefore users invite` end to end: a real SMTP server (the
// sink) receives the mails, each link is redeemed over HTTP, and its effect is checked.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../cluster/redis-server.js';
import { type SmtpSink, startSmtpSink } from '../mail/smtp-sink.js';
import { listening, type Run, run, waitForOutput } from './process.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase 42';
const SMTP_PASSWORD = 's3cret-smtp-pw';
const FROM = 'Acme <no-reply@acme.example>';

interface Reply {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

function client(url: string) {
  return async (method: string, path: string, body?: unknown, token?: string): Promise<Reply> => {
    const headers: Record<string, string> = { 'x-auth-transport': 'bearer' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const started = performance.now();
    const res = await fetch(url + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      ms: performance.now() - started,
    };
  };
}

async function stop(server: Run): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill('SIGTERM');
  const killer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await server.exited;
  clearTimeout(killer);
}

/**
 * A `notbefore serve` for the enclosing describe block, started (on a free port, with `args`
 * after `serve --port 0`) before its tests and stopped after them.
 */
function serveDuring(args: () => Promise<string[]> | string[]) {
  const served = {} as { server: Run; url: string; call: ReturnType<typeof client> };
  beforeAll(async () => {
    served.server = run(['serve', '--port', '0', ...(await args())]);
    served.url = await listening(served.server);
    served.call = client(served.url);
  }, 60_000);
  afterAll(async () => {
    await stop(served.server);
  });
  return served;
}

let dir: string;
let sink: SmtpSink;
let smtpUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'notbefore-cli-mail-'));
  sink = await startSmtpSink();
  const url = new URL(sink.url);
  url.username = 'mailer';
  url.password = SMTP_PASSWORD;
  smtpUrl = url.toString();
});
afterAll(async () => {
  await sink?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('serve --smtp: the mails go out, and their links work', () => {
  const db = () => `sqlite:${join(dir, 'smtp.db')}`;
  const served = serveDuring(() => [
    '--db',
    db(),
    '--smtp',
    smtpUrl,
    '--mail-from',
    FROM,
    '--admin-email',
    'boss@example.com',
  ]);

  it('--admin-email: the invitation is mailed and logged, and opening it makes an admin', async () => {
    const mail = await sink.next((m) => m.to === 'boss@example.com');
    expect(mail.subject).toMatch(/invited/);
    expect(mail.fromAddress).toBe('no-reply@acme.example');
    const link = sink.urlIn(mail, 'invitation');
    // The default public URL is the server's own.
    expect(link.startsWith(`${served.url}/#invitation=`)).toBe(true);
    expect(await waitForOutput(served.server, /"link":"(http:[^"]+#invitation=[\w-]+)"/)).toBe(
      link,
    );
    const accepted = await served.call('POST', '/auth/invitations/accept', {
      token: sink.linkIn(mail, 'invitation'),
      password: PASSWORD,
    });
    expect(accepted.status).toBe(201);
    const me = await served.call('GET', '/auth/me', undefined, accepted.body.accessToken as string);
    expect(me.body).toMatchObject({ claims: { roles: ['admin'], email_verified: true } });
  });

  it('forgot password → mail → reset over HTTP → every old session ends, the old password is refused', async () => {
    const email = 'ada@example.com';
    expect((await served.call('POST', '/auth/signup', { email, password: PASSWORD })).status).toBe(
      201,
    );
    const phone = await served.call('POST', '/auth/login', { email, password: PASSWORD });
    expect(phone.status).toBe(200);
    const oldToken = phone.body.accessToken as string;
    expect((await served.call('GET', '/auth/me', undefined, oldToken)).status).toBe(200);

    const forgot = await served.call('POST', '/auth/password/forgot', { email });
    expect(forgot.status).toBe(202);
    const mail = await sink.next((m) => m.to === email && /reset/i.test(m.subject));
    expect(mail.from).toBe('"Acme" <no-reply@acme.example>');
    expect(mail.html).toContain('#reset-password=');
    expect(mail.text).toMatch(/30 minutes/);
    const token = sink.linkIn(mail, 'reset-password');

    expect(
      (await served.call('POST', '/auth/password/reset', { token, newPassword: NEW_PASSWORD }))
        .status,
    ).toBe(204);
    const refused = await served.call('GET', '/auth/me', undefined, oldToken);
    expect(refused.status).toBe(401);
    expect(
      (await served.call('POST', '/auth/refresh', { refreshToken: phone.body.refreshToken }))
        .status,
    ).toBe(401);
    const old = await served.call('POST', '/auth/login', { email, password: PASSWORD });
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ error: { code: 'INVALID_CREDENTIALS' } });
    expect(
      (await served.call('POST', '/auth/login', { email, password: NEW_PASSWORD })).status,
    ).toBe(200);
    // Single use.
    const again = await served.call('POST', '/auth/password/reset', {
      token,
      newPassword: PASSWORD,
    });
    expect(again).toMatchObject({ status: 400, body: { error: { code: 'LINK_INVALID' } } });
    // And the owner is told.
    const notice = await sink.next((m) => m.to === email && /was reset/.test(m.subject));
    expect(notice.text).toMatch(/If it was not you/);
  });

  it('forgot password for an unknown address answers the same, and mails nothing', async () => {
    const known = await served.call('POST', '/auth/password/forgot', { email: 'ada@example.com' });
    const unknown = await served.call('POST', '/auth/password/forgot', {
      email: 'nobody@example.com',
    });
    expect(unknown.status).toBe(known.status);
    expect(unknown.body).toEqual(known.body);
    await sink.next((m) => m.to === 'ada@example.com');
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.mails.filter((m) => m.to === 'nobody@example.com')).toEqual([]);
  });

  it('users invite against the same database prints a link that works, and mails it with --smtp', async () => {
    const invite = run([
      'users',
      'invite',
      'carol@example.com',
      '--role',
      'editor',
      '--role',
      'billing',
      '--db',
      db(),
      '--public-url',
      served.url,
      '--smtp',
      smtpUrl,
      '--mail-from',
      FROM,
    ]);
    expect(await invite.exited, invite.out()).toBe(0);
    const printed = invite.stdout().trim();
    expect(printed).toMatch(
      new RegExp(`^${served.url.replaceAll('.', '\\.')}/#invitation=[\\w-]{43}$`),
    );
    expect(invite.stderr()).toContain('mailed to carol@example.com');
    const mail = await sink.next((m) => m.to === 'carol@example.com');
    expect(sink.urlIn(mail, 'invitation')).toBe(printed);
    const accepted = await served.call('POST', '/auth/invitations/accept', {
      token: printed.split('#invitation=')[1],
      password: PASSWORD,
    });
    expect(accepted.status).toBe(201);
    const me = await served.call('GET', '/auth/me', undefined, accepted.body.accessToken as string);
    expect([...((me.body.claims as { roles: string[] }).roles ?? [])].sort()).toEqual([
      'billing',
      'editor',
    ]);
  }, 60_000);

  it('users invite refuses an address that has an account (exit 1, one line)', async () => {
    const invite = run(['users', 'invite', 'ada@example.com', '--db', db()]);
    expect(await invite.exited).toBe(1);
    expect(invite.out()).toBe('notbefore: ada@example.com already has an account\n');
  }, 60_000);

  it('the log holds neither the SMTP password nor a user password', async () => {
    expect(sink.logins.some((l) => l.username === 'mailer' && l.password === SMTP_PASSWORD)).toBe(
      true,
    );
    const logs = served.server.out();
    expect(logs).toContain('mail goes out over SMTP');
    for (const secret of [SMTP_PASSWORD, PASSWORD, NEW_PASSWORD]) {
      expect(logs).not.toContain(secret);
    }
  });
});

describe('serve --smtp to a server that is down', () => {
  const served = serveDuring(async () => [
    '--db',
    'sqlite::memory:',
    '--smtp',
    `smtp://127.0.0.1:${await freePort()}`,
    '--mail-from',
    FROM,
  ]);

  it('forgot password still answers 202 at once; the failed send is logged, not lost in a 5xx', async () => {
    const email = 'grace@example.com';
    expect((await served.call('POST', '/auth/signup', { email, password: PASSWORD })).status).toBe(
      201,
    );
    const forgot = await served.call('POST', '/auth/password/forgot', { email });
    expect(forgot.status).toBe(202);
    expect(forgot.ms).toBeLessThan(1000);
    const line = await waitForOutput(
      served.server,
      /(\{[^\n]*attempt 1 failed; will retry[^\n]*\})/,
    );
    expect(line).toContain('ECONNREFUSED');
    // Signing in is untouched by the mail outage.
    expect((await served.call('POST', '/auth/login', { email, password: PASSWORD })).status).toBe(
      200,
    );
  });

  it('users invite still prints the link, says the mail failed, and exits 1', async () => {
    const dead = await freePort();
    const db = `sqlite:${join(dir, 'down.db')}`;
    const invite = run([
      'users',
      'invite',
      'dora@example.com',
      '--db',
      db,
      '--smtp',
      `smtp://127.0.0.1:${dead}`,
      '--mail-from',
      FROM,
    ]);
    expect(await invite.exited).toBe(1);
    expect(invite.stdout()).toMatch(/^http:\/\/127\.0\.0\.1:3000\/#invitation=[\w-]{43}\n$/);
    expect(invite.stderr()).toMatch(
      /could not be mailed \(.*ECONNREFUSED.*\); the link above still works/,
    );
  }, 60_000);
});

describe('serve --require-verified-email', () => {
  const served = serveDuring(() => [
    '--db',
    'sqlite::memory:',
    '--smtp',
    sink.url,
    '--mail-from',
    FROM,
    '--require-verified-email',
  ]);

  it('signup mails a link; sign-in waits for it (mailing a fresh one); after it, the token says email_verified', async () => {
    const email = 'hedy@example.com';
    const signup = await served.call('POST', '/auth/signup', { email, password: PASSWORD });
    expect(signup.status).toBe(202);
    const mail = await sink.next((m) => m.to === email);
    const early = await served.call('POST', '/auth/login', { email, password: PASSWORD });
    expect(early).toMatchObject({ status: 403, body: { error: { code: 'EMAIL_NOT_VERIFIED' } } });
    // The refused sign-in mailed a fresh link, which supersedes the first.
    const fresh = await sink.next((m) => m.to === email);
    const first = await served.call('POST', '/auth/email/verify', {
      token: sink.linkIn(mail, 'verify-email'),
    });
    expect(first).toMatchObject({ status: 400, body: { error: { code: 'LINK_INVALID' } } });
    const token = sink.linkIn(fresh, 'verify-email');
    expect((await served.call('POST', '/auth/email/verify', { token })).status).toBe(204);
    const login = await served.call('POST', '/auth/login', { email, password: PASSWORD });
    expect(login.status).toBe(200);
    const me = await served.call('GET', '/auth/me', undefined, login.body.accessToken as string);
    expect(me.body).toMatchObject({ claims: { email_verified: true } });
  });
});

describe('serve --admin-email: signing up with the address first grants nothing (ASVS 6.3.2)', () => {
  const served = serveDuring(() => [
    '--db',
    `sqlite:${join(dir, 'squatter.db')}`,
    '--admin-email',
    'chief@example.com',
  ]);

  it('the address signs up as a plain user; the invitation is then spent, and no admin exists', async () => {
    // The invitation's token, as the start logs its link.
    const token = await waitForOutput(served.server, /"link":"http:[^"]+#invitation=([\w-]+)"/);
    const email = 'chief@example.com';
    const signup = await served.call('POST', '/auth/signup', { email, password: PASSWORD });
    expect(signup.status).toBe(201);
    const access = signup.body.accessToken as string;
    const me = await served.call('GET', '/auth/me', undefined, access);
    expect(me.body).toMatchObject({ claims: { roles: [] } });
    const id = (signup.body.user as { id: string }).id;
    const selfPromotion = await served.call(
      'PUT',
      `/admin/users/${id}/roles`,
      { roles: ['admin'] },
      access,
    );
    expect(selfPromotion).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    // Whoever holds the invitation cannot turn the squatted account into an admin.
    const accepted = await served.call('POST', '/auth/invitations/accept', {
      token,
      password: NEW_PASSWORD,
    });
    expect(accepted).toMatchObject({ status: 409, body: { error: { code: 'EMAIL_TAKEN' } } });
    const again = await served.call('POST', '/auth/invitations/accept', {
      token,
      password: NEW_PASSWORD,
    });
    expect(again).toMatchObject({ status: 400, body: { error: { code: 'LINK_INVALID' } } });
    const login = await served.call('POST', '/auth/login', { email, password: PASSWORD });
    const after = await served.call('GET', '/auth/me', undefined, login.body.accessToken as string);
    expect(after.body).toMatchObject({ claims: { roles: [] } });
  });
});
