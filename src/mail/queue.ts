import { type Clock, systemClock } from '../clock.js';
import type { Mail, Mailer } from './types.js';

/**
 * Sends mail off the request path: `enqueue` returns at once, delivery and its retries
 * happen behind it. The state change a mail reports has already committed when it is
 * queued, so a mail that cannot be delivered is logged (`onError`) and never undoes it.
 */
export interface MailQueue {
  /** Never throws, never waits for delivery: sending is off the request path. */
  enqueue(mail: Mail): void;
  /** Resolves when everything enqueued so far was delivered or given up (tests, close). */
  drain(): Promise<void>;
  /**
   * Stops taking mail, gives every queued mail one last immediate attempt (no more waits
   * between retries, so closing is bounded by the mailer's own timeouts), then closes the
   * mailer. Later `enqueue` calls are reported to `onError` and dropped.
   */
  close(): Promise<void>;
}

/** What `onError` learns about a failed attempt besides the error. */
export interface MailFailure {
  /** The mail's recipient and subject (never its body: it may carry a link). */
  to: string;
  subject: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** False when this was the last attempt: the mail is given up. */
  willRetry: boolean;
  /** When the attempt failed (ms since the epoch, from the queue's clock). */
  at: number;
}

/** Timers the queue waits with; tests pass their own to skip the real waits. */
export interface MailTimers {
  /** Calls `callback` once after `ms`; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer `setTimeout` returned. */
  clearTimeout(handle: unknown): void;
}

/** Options of {@link createMailQueue}. */
export interface MailQueueOptions {
  /** Where mail goes. */
  mailer: Mailer;
  /** Stamps failures (`MailFailure.at`); default the system clock. */
  clock?: Clock;
  /** Called with every failed attempt and for mail dropped because the queue is full or closed. */
  onError?: (error: unknown, failure: MailFailure) => void;
  /** Attempts after the first one (default 5). */
  retries?: number;
  /** The first wait before a retry, in ms (default 1000); each later wait doubles, up to 5 minutes. */
  backoffMs?: number;
  /** How many mails are sent at once (default 4): one slow mail does not hold up the rest. */
  concurrency?: number;
  /** Mails waiting beyond this are dropped and reported (default 10 000): an SMTP outage cannot exhaust memory. */
  maxQueued?: number;
  /** Default: the global `setTimeout`/`clearTimeout`. */
  timers?: MailTimers;
}

const MAX_BACKOFF_MS = 5 * 60_000;

interface Job {
  mail: Mail;
  attempt: number;
  done: () => void;
  finished: Promise<void>;
}

/**
 * A queue in front of a {@link Mailer}: sends in the background, retries a failed send with
 * exponential backoff, reports each failure to `onError`, and gives up after the last retry.
 *
 * @example
 * ```ts
 * import { createMailQueue, smtpMailer } from 'notbefore/mail';
 *
 * const queue = createMailQueue({
 *   mailer: await smtpMailer('smtp://mail.example:587', { from: 'Acme <no-reply@acme.example>' }),
 *   onError: (error, f) => log.warn({ err: error, to: f.to, attempt: f.attempt }, 'mail failed'),
 * });
 * queue.enqueue(mail); // returns at once
 * await queue.close(); // on shutdown
 * ```
 */
export function createMailQueue(o: MailQueueOptions): MailQueue {
  const clock = o.clock ?? systemClock;
  const retries = nonNegativeInt(o.retries, 5, 'retries');
  const backoffMs = nonNegativeInt(o.backoffMs, 1000, 'backoffMs');
  const concurrency = Math.max(1, nonNegativeInt(o.concurrency, 4, 'concurrency'));
  const maxQueued = nonNegativeInt(o.maxQueued, 10_000, 'maxQueued');
  const timers: MailTimers = o.timers ?? {
    setTimeout: (cb, ms) => setTimeout(cb, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  };
  const waiting: Job[] = [];
  /** Jobs between a failed attempt and their retry, with the timer that wakes them. */
  const sleeping = new Map<Job, unknown>();
  const unfinished = new Set<Promise<void>>();
  let running = 0;
  let closed = false;
  let closing: Promise<void> | undefined;

  const report = (error: unknown, mail: Mail, attempt: number, willRetry: boolean): void => {
    try {
      o.onError?.(error, {
        to: mail.to,
        subject: mail.subject,
        attempt,
        willRetry,
        at: clock.now(),
      });
    } catch {
      // A broken error handler must not stop the queue.
    }
  };

  const pump = (): void => {
    while (running < concurrency && waiting.length > 0) {
      const job = waiting.shift() as Job;
      running += 1;
      void attempt(job);
    }
  };

  const attempt = async (job: Job): Promise<void> => {
    job.attempt += 1;
    let failure: { error: unknown } | undefined;
    try {
      await o.mailer.send(job.mail);
    } catch (error) {
      failure = { error };
    }
    running -= 1;
    if (failure === undefined) {
      job.done();
    } else {
      const willRetry = !closed && job.attempt <= retries;
      report(failure.error, job.mail, job.attempt, willRetry);
      if (willRetry) {
        const wait = Math.min(backoffMs * 2 ** (job.attempt - 1), MAX_BACKOFF_MS);
        sleeping.set(
          job,
          timers.setTimeout(() => wake(job), wait),
        );
      } else {
        job.done();
      }
    }
    pump();
  };

  const wake = (job: Job): void => {
    if (!sleeping.delete(job)) return;
    waiting.push(job);
    pump();
  };

  return {
    enqueue(mail) {
      if (closed || waiting.length >= maxQueued) {
        report(
          new Error(closed ? 'the mail queue is closed' : 'the mail queue is full'),
          mail,
          0,
          false,
        );
        return;
      }
      let done!: () => void;
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      const job: Job = { mail, attempt: 0, done, finished };
      unfinished.add(finished);
      void finished.then(() => unfinished.delete(finished));
      waiting.push(job);
      pump();
    },
    async drain() {
      await Promise.all([...unfinished]);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        // Each sleeping mail gets its last attempt now instead of after its wait.
        for (const [job, handle] of [...sleeping]) {
          timers.clearTimeout(handle);
          wake(job);
        }
        await Promise.all([...unfinished]);
        await o.mailer.close?.();
      })();
      return closing;
    },
  };
}

function nonNegativeInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`createMailQueue: ${name} must be a non-negative integer`);
  }
  return value;
}
