import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailQueue, logMailer, renderMail, smtpMailer } from '../../src/mail/index.js';
import { createSmtpMailer } from '../../src/mail/smtp.js';
import type { Mail } from '../../src/mail/types.js';
import { freePort } from '../cluster/redis-server.js';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';

const FROM = 'Acme <no-reply@acme.example>';
const AT = Date.UTC(2026, 0, 1);

const resetMail = (to = 'ada@example.com'): Mail =>
  renderMail('reset-password', {
    productName: 'Acme',
    to,
    link: 'https://acme.example/#reset-password=tok123',
    expiresAt: AT + 30 * 60_000,
    at: AT,
  });

/** How long `promise` took to settle, and how it settled. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error?: Error }> {
  const started = performance.now();
  try {
    await promise;
    return { ms: performance.now() - started };
  } catch (error) {
    return { ms: performance.now() - started, error: error as Error };
  }
}

/** A TCP server that accepts connections and never says a word (a hung SMTP server). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('smtpMailer against a real SMTP server', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink.close();
  });

  it('delivers both parts with the right headers, logging in with the URL credentials', async () => {
    const url = new URL(sink.url);
    url.username = 'mailer';
    url.password = encodeURIComponent('p@ss:w/rd');
    const mailer = smtpMailer(url.toString(), { from: FROM });
    const mail = resetMail();
    await mailer.send(mail);
    await mailer.close?.();
    const got = await sink.next((m) => m.to === 'ada@example.com');
    expect(got.from).toBe('"Acme" <no-reply@acme.example>');
    expect(got.fromAddress).toBe('no-reply@acme.example');
    expect(got.subject).toBe(mail.subject);
    expect(got.rcptTo).toEqual(['ada@example.com']);
    expect(got.text.trim()).toBe(mail.text.trim());
    expect(got.html).toContain('<a href="https://acme.example/#reset-password=tok123">');
    expect(got.headers.get('auto-submitted')).toBe('auto-generated');
    expect(got.headers.get('message-id')).toEqual(expect.stringMatching(/^<.+@.+>$/));
    expect(got.headers.get('date')).toBeInstanceOf(Date);
    expect(
      String(
        got.headers.get('content-type') &&
          (got.headers.get('content-type') as { value: string }).value,
      ),
    ).toBe('multipart/alternative');
    expect(sink.linkIn(got, 'reset-password')).toBe('tok123');
    expect(sink.logins.at(-1)).toEqual({ username: 'mailer', password: 'p@ss:w/rd' });
    expect(got.user).toBe('mailer');
  });

  it('without credentials it sends without logging in', async () => {
    const before = sink.logins.length;
    const mailer = smtpMailer(sink.url, { from: 'no-reply@acme.example' });
    await mailer.send(resetMail('anon@example.com'));
    const got = await sink.next((m) => m.to === 'anon@example.com');
    expect(got.user).toBeUndefined();
    expect(sink.logins).toHaveLength(before);
  });

  it('a refused mail rejects send with the server answer', async () => {
    const mailer = smtpMailer(sink.url, { from: FROM });
    sink.failNext(1);
    await expect(mailer.send(resetMail('refused@example.com'))).rejects.toThrow(
      /451|try again later/,
    );
    await mailer.send(resetMail('refused@example.com'));
    await sink.next((m) => m.to === 'refused@example.com');
  });

  it('the queue retries a refused mail until the server takes it', async () => {
    const failures: string[] = [];
    const queue = createMailQueue({
      mailer: smtpMailer(sink.url, { from: FROM }),
      backoffMs: 20,
      onError: (error, f) =>
        failures.push(`${f.attempt}:${f.willRetry}:${(error as Error).message}`),
    });
    sink.failNext(2);
    const mail = resetMail('retry@example.com');
    queue.enqueue(mail);
    await queue.drain();
    const got = await sink.next((m) => m.to === 'retry@example.com', 1000);
    expect(got.subject).toBe(mail.subject);
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatch(/^1:true:.*451/);
    expect(failures[1]).toMatch(/^2:true:.*451/);
    expect(sink.mails.filter((m) => m.to === 'retry@example.com')).toHaveLength(1);
    await queue.close();
  });

  it('a slow server is cut off by the socket timeout', async () => {
    const slow = await startSmtpSink({ delayMs: 3000 });
    try {
      const mailer = smtpMailer(slow.url, { from: FROM, socketTimeoutMs: 300 });
      const { ms, error } = await timed(mailer.send(resetMail()));
      expect(error?.message).toMatch(/timeout/i);
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(1500);
    } finally {
      await slow.close();
    }
  });

  it('a server slow past the whole-send bound is cut off by sendTimeoutMs', async () => {
    const slow = await startSmtpSink({ delayMs: 2000 });
    try {
      const mailer = smtpMailer(slow.url, { from: FROM, sendTimeoutMs: 300 });
      const { ms, error } = await timed(mailer.send(resetMail()));
      expect(error?.message).toBe('SMTP send took longer than 300 ms');
      expect(ms).toBeLessThan(1000);
    } finally {
      await slow.close();
    }
  });
});

describe('smtpMailer when the server is not there', () => {
  it('nothing listening: send rejects at once', async () => {
    const port = await freePort();
    const mailer = smtpMailer(`smtp://127.0.0.1:${port}`, { from: FROM });
    const { ms, error } = await timed(mailer.send(resetMail()));
    expect(error?.message).toMatch(/ECONNREFUSED/);
    expect(ms).toBeLessThan(1000);
  });

  it('a server that accepts and never greets: send rejects after the greeting timeout', async () => {
    const silent = await silentServer();
    try {
      const mailer = smtpMailer(`smtp://127.0.0.1:${silent.port}`, {
        from: FROM,
        greetingTimeoutMs: 300,
      });
      const { ms, error } = await timed(mailer.send(resetMail()));
      expect(error?.message).toMatch(/greeting/i);
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(1500);
    } finally {
      await silent.close();
    }
  });

  it('smtps:// speaks TLS from the first byte (so a plain server cannot be talked to)', async () => {
    const sink = await startSmtpSink();
    try {
      const mailer = smtpMailer(sink.url.replace('smtp:', 'smtps:'), {
        from: FROM,
        greetingTimeoutMs: 500,
        connectionTimeoutMs: 500,
      });
      const { ms, error } = await timed(mailer.send(resetMail()));
      expect(error).toBeDefined();
      expect(ms).toBeLessThan(2000);
      expect(sink.mails).toHaveLength(0);
    } finally {
      await sink.close();
    }
  });
});

describe('smtpMailer configuration', () => {
  const capture = (url: string, o: Parameters<typeof smtpMailer>[1] = { from: FROM }) => {
    let seen: Record<string, unknown> = {};
    createSmtpMailer(
      ((options: Record<string, unknown>) => {
        seen = options;
        return { sendMail: async () => ({}), close() {} };
      }) as never,
      url,
      o,
    );
    return seen;
  };

  it('takes TLS from the scheme and default ports from it', () => {
    expect(capture('smtps://mail.example')).toMatchObject({ secure: true, port: 465 });
    expect(capture('smtp://mail.example')).toMatchObject({ secure: false, port: 587 });
    expect(capture('smtp://mail.example:2525')).toMatchObject({ port: 2525 });
  });

  it('insists on STARTTLS before sending a password to another host, not to the loopback', () => {
    expect(capture('smtp://u:p@mail.example')).toMatchObject({
      requireTLS: true,
      auth: { user: 'u', pass: 'p' },
    });
    expect(capture('smtp://u:p@127.0.0.1:2525')).toMatchObject({ requireTLS: false });
    expect(capture('smtp://mail.example')).toMatchObject({ requireTLS: false });
    expect(capture('smtp://u:p@mail.example', { from: FROM, requireTLS: false })).toMatchObject({
      requireTLS: false,
    });
  });

  it('sets every timeout, with defaults', () => {
    expect(capture('smtp://mail.example')).toMatchObject({
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
  });

  it('refuses a URL that is not SMTP, and a missing or multi-line from', () => {
    expect(() => smtpMailer('http://mail.example', { from: FROM })).toThrow(TypeError);
    expect(() => smtpMailer('not a url', { from: FROM })).toThrow(TypeError);
    expect(() => smtpMailer('smtp://mail.example', { from: '' })).toThrow(TypeError);
    expect(() => smtpMailer('smtp://mail.example', { from: 'a@b\r\nBcc: c@d' })).toThrow(TypeError);
    expect(() => smtpMailer('smtp://mail.example', { from: FROM, socketTimeoutMs: 0 })).toThrow(
      TypeError,
    );
  });

  it('a refusal names neither the URL nor its password', () => {
    expect(() => smtpMailer('smtp://user:hunter2@', { from: FROM })).toThrow(TypeError);
    expect(() => smtpMailer('smtp://user:hunter2@', { from: FROM })).not.toThrow(/hunter2/);
    expect(() => smtpMailer('smtpx://user:hunter2@x', { from: FROM })).not.toThrow(/hunter2/);
  });
});

describe('logMailer', () => {
  it('writes recipient, subject, the link and the text as one block', async () => {
    const lines: string[] = [];
    await logMailer((line) => lines.push(line)).send(resetMail());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^mail to ada@example\.com: Reset your Acme password\nlink: https:\/\/acme\.example\/#reset-password=tok123\n/,
    );
  });

  it('gives a pino-style logger structured fields', async () => {
    const calls: [Record<string, unknown>, string][] = [];
    await logMailer({ info: (fields, message) => calls.push([fields, message]) }).send(resetMail());
    expect(calls).toEqual([
      [
        {
          mail: {
            to: 'ada@example.com',
            subject: 'Reset your Acme password',
            link: 'https://acme.example/#reset-password=tok123',
            text: expect.stringContaining('tok123'),
          },
        },
        expect.any(String),
      ],
    ]);
  });

  it('a notice has no link field', async () => {
    const lines: string[] = [];
    await logMailer((line) => lines.push(line)).send(
      renderMail('password-changed', { productName: 'Acme', to: 'a@example.com', at: AT }),
    );
    expect(lines[0]).not.toContain('link:');
  });
});
