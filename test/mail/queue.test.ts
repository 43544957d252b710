import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { createMailQueue, type MailFailure, type MailTimers } from '../../src/mail/queue.js';
import type { Mail, Mailer } from '../../src/mail/types.js';

const mail = (n: number): Mail => ({
  to: `u${n}@example.com`,
  subject: `s${n}`,
  text: 't',
  html: 'h',
});

/** Timers that fire only when the test says so, recording each requested wait. */
function manualTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let next = 0;
  const waits: number[] = [];
  const timers: MailTimers = {
    setTimeout(fn, ms) {
      waits.push(ms);
      next += 1;
      pending.set(next, { fn, ms });
      return next;
    },
    clearTimeout(h) {
      pending.delete(h as number);
    },
  };
  return {
    timers,
    waits,
    get pending() {
      return pending.size;
    },
    /** Fires every pending timer, then lets the promises settle. */
    async fireAll() {
      const due = [...pending];
      pending.clear();
      for (const [, t] of due) t.fn();
      await settle();
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

/** A mailer that fails its first `failures` sends. */
function flakyMailer(failures: number) {
  const sent: Mail[] = [];
  let calls = 0;
  let closed = 0;
  const mailer: Mailer = {
    async send(m) {
      calls += 1;
      if (calls <= failures) throw new Error(`refused #${calls}`);
      sent.push(m);
    },
    async close() {
      closed += 1;
    },
  };
  return {
    mailer,
    sent,
    get calls() {
      return calls;
    },
    get closed() {
      return closed;
    },
  };
}

describe('createMailQueue', () => {
  it('enqueue returns before the mail is sent', async () => {
    let release!: () => void;
    const sent: Mail[] = [];
    const queue = createMailQueue({
      mailer: {
        send: (m) =>
          new Promise<void>((r) => {
            release = () => {
              sent.push(m);
              r();
            };
          }),
      },
    });
    queue.enqueue(mail(1));
    expect(sent).toEqual([]);
    let drained = false;
    const draining = queue.drain().then(() => {
      drained = true;
    });
    await settle();
    expect(drained).toBe(false);
    release();
    await draining;
    expect(sent).toEqual([mail(1)]);
  });

  it('retries a failed send with doubling waits, reports each failure, then delivers', async () => {
    const t = manualTimers();
    const m = flakyMailer(3);
    const clock = manualClock(1000);
    const failures: [string, MailFailure][] = [];
    const queue = createMailQueue({
      mailer: m.mailer,
      clock,
      timers: t.timers,
      backoffMs: 100,
      onError: (e, f) => failures.push([(e as Error).message, f]),
    });
    queue.enqueue(mail(1));
    await settle();
    for (let i = 0; i < 3; i += 1) {
      clock.advance(1);
      await t.fireAll();
    }
    await queue.drain();
    expect(t.waits).toEqual([100, 200, 400]);
    expect(m.sent).toEqual([mail(1)]);
    expect(failures.map(([msg, f]) => [msg, f.attempt, f.willRetry, f.to, f.subject])).toEqual([
      ['refused #1', 1, true, 'u1@example.com', 's1'],
      ['refused #2', 2, true, 'u1@example.com', 's1'],
      ['refused #3', 3, true, 'u1@example.com', 's1'],
    ]);
    expect(failures.map(([, f]) => f.at)).toEqual([1000, 1001, 1002]);
  });

  it('gives up after the last retry, reports it, and drain resolves', async () => {
    const t = manualTimers();
    const m = flakyMailer(Number.POSITIVE_INFINITY);
    const failures: MailFailure[] = [];
    const queue = createMailQueue({
      mailer: m.mailer,
      timers: t.timers,
      retries: 2,
      backoffMs: 10,
      onError: (_e, f) => failures.push(f),
    });
    queue.enqueue(mail(1));
    const drained = queue.drain();
    await settle();
    await t.fireAll();
    await t.fireAll();
    await drained;
    expect(m.calls).toBe(3);
    expect(failures.map((f) => f.willRetry)).toEqual([true, true, false]);
    expect(t.pending).toBe(0);
  });

  it('caps the wait at five minutes', async () => {
    const t = manualTimers();
    const m = flakyMailer(Number.POSITIVE_INFINITY);
    const queue = createMailQueue({
      mailer: m.mailer,
      timers: t.timers,
      retries: 4,
      backoffMs: 100_000,
    });
    queue.enqueue(mail(1));
    await settle();
    for (let i = 0; i < 4; i += 1) await t.fireAll();
    await queue.drain();
    expect(t.waits).toEqual([100_000, 200_000, 300_000, 300_000]);
  });

  it('a failing mail does not hold up the others', async () => {
    const t = manualTimers();
    const sent: string[] = [];
    const queue = createMailQueue({
      mailer: {
        async send(m) {
          if (m.to === 'u1@example.com') throw new Error('mailbox unavailable');
          sent.push(m.to);
        },
      },
      timers: t.timers,
      concurrency: 1,
    });
    queue.enqueue(mail(1));
    queue.enqueue(mail(2));
    queue.enqueue(mail(3));
    await settle();
    await settle();
    expect(sent).toEqual(['u2@example.com', 'u3@example.com']);
  });

  it('sends at most `concurrency` mails at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const queue = createMailQueue({
      mailer: {
        async send() {
          inFlight += 1;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight -= 1;
        },
      },
      concurrency: 3,
    });
    for (let i = 0; i < 10; i += 1) queue.enqueue(mail(i));
    await queue.drain();
    expect(peak).toBe(3);
  });

  it('a full queue drops the mail and says so, without throwing', async () => {
    const dropped: MailFailure[] = [];
    const never = new Promise<void>(() => {});
    const queue = createMailQueue({
      mailer: { send: () => never },
      concurrency: 1,
      maxQueued: 2,
      onError: (_e, f) => dropped.push(f),
    });
    for (let i = 0; i < 5; i += 1) queue.enqueue(mail(i));
    // One in flight, two waiting, two dropped.
    expect(dropped.map((f) => [f.to, f.attempt, f.willRetry])).toEqual([
      ['u3@example.com', 0, false],
      ['u4@example.com', 0, false],
    ]);
  });

  it('a throwing onError does not stop the queue', async () => {
    const m = flakyMailer(1);
    const queue = createMailQueue({
      mailer: m.mailer,
      backoffMs: 0,
      onError: () => {
        throw new Error('logger broke');
      },
    });
    queue.enqueue(mail(1));
    await queue.drain();
    expect(m.sent).toEqual([mail(1)]);
  });

  it('close gives a mail waiting to retry its last attempt at once, then closes the mailer', async () => {
    const t = manualTimers();
    const m = flakyMailer(1);
    const queue = createMailQueue({ mailer: m.mailer, timers: t.timers, backoffMs: 60_000 });
    queue.enqueue(mail(1));
    await settle();
    expect(t.pending).toBe(1);
    await queue.close();
    expect(t.pending).toBe(0);
    expect(m.sent).toEqual([mail(1)]);
    expect(m.closed).toBe(1);
    await queue.close();
    expect(m.closed).toBe(1);
  });

  it('after close a failure is final and new mail is reported, not sent', async () => {
    const t = manualTimers();
    const m = flakyMailer(2);
    const failures: MailFailure[] = [];
    const queue = createMailQueue({
      mailer: m.mailer,
      timers: t.timers,
      onError: (_e, f) => failures.push(f),
    });
    queue.enqueue(mail(1));
    await settle();
    await queue.close();
    expect(m.sent).toEqual([]);
    expect(failures.map((f) => f.willRetry)).toEqual([true, false]);
    queue.enqueue(mail(2));
    expect(failures.at(-1)).toMatchObject({ to: 'u2@example.com', willRetry: false });
    expect(m.calls).toBe(2);
  });

  it('rejects nonsense options at construction', () => {
    const m = flakyMailer(0);
    expect(() => createMailQueue({ mailer: m.mailer, retries: -1 })).toThrow(TypeError);
    expect(() => createMailQueue({ mailer: m.mailer, backoffMs: 1.5 })).toThrow(TypeError);
  });
});
