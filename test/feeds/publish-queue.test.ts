import { describe, expect, it } from 'vitest';
import { publishQueue, type SendOutcome } from '../../src/feeds/publish-queue.js';

/** A send the test answers by hand: each call waits until `answer` is given its outcome. */
function manualSend() {
  const calls: { item: string; answer: (outcome: SendOutcome) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = (item: string) =>
    new Promise<SendOutcome>((resolve) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      calls.push({
        item,
        answer: (outcome) => {
          inFlight -= 1;
          resolve(outcome);
        },
      });
    });
  return { send, calls, maxInFlight: () => maxInFlight };
}

function queueWith(
  send: (item: string) => Promise<SendOutcome>,
  maxQueue = 10,
  timeoutMs = 60_000,
) {
  const stats = { queued: 0 };
  const errors: unknown[] = [];
  const queue = publishQueue<string>({
    send,
    timeoutMs,
    maxQueue,
    stats,
    reportError: (error) => errors.push(error),
  });
  return { queue, stats, errors };
}

/** Lets every pending promise reaction run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether `promise` has resolved by now. */
async function isSettled(promise: Promise<void>): Promise<boolean> {
  let settled = false;
  void promise.then(() => {
    settled = true;
  });
  await tick();
  return settled;
}

describe('publishQueue', () => {
  it('sends one item at a time, oldest first; a push resolves once its item is sent', async () => {
    const { send, calls, maxInFlight } = manualSend();
    const { queue, stats } = queueWith(send);
    const first = queue.push('a');
    const second = queue.push('b');
    expect(stats.queued).toBe(2);
    expect(calls.map((c) => c.item)).toEqual(['a']);
    expect(await isSettled(first)).toBe(false);

    calls[0]?.answer('done');
    expect(await isSettled(first)).toBe(true);
    expect(await isSettled(second)).toBe(false);
    expect(stats.queued).toBe(1);
    expect(calls.map((c) => c.item)).toEqual(['a', 'b']);

    calls[1]?.answer('done');
    expect(await isSettled(second)).toBe(true);
    expect(stats.queued).toBe(0);
    expect(maxInFlight()).toBe(1);
  });

  it('retry sends the same item again; stop keeps it queued until the next flush', async () => {
    const { send, calls } = manualSend();
    const { queue, stats } = queueWith(send);
    const pushed = queue.push('a');
    calls[0]?.answer('retry');
    await tick();
    expect(calls.map((c) => c.item)).toEqual(['a', 'a']);

    calls[1]?.answer('stop');
    await tick();
    expect(calls).toHaveLength(2);
    expect(stats.queued).toBe(1);
    expect(await isSettled(pushed)).toBe(false);

    void queue.flush();
    expect(calls.map((c) => c.item)).toEqual(['a', 'a', 'a']);
    calls[2]?.answer('done');
    expect(await isSettled(pushed)).toBe(true);
  });

  it('beyond maxQueue drops the oldest: its push resolves and the drop is reported', async () => {
    const { send, calls } = manualSend();
    const { queue, stats, errors } = queueWith(send, 2);
    const a = queue.push('a');
    const b = queue.push('b');
    const c = queue.push('c');
    const d = queue.push('d');
    expect(stats.queued).toBe(2);
    expect(await isSettled(a)).toBe(true);
    expect(await isSettled(b)).toBe(true);
    expect(await isSettled(c)).toBe(false);
    expect(errors).toHaveLength(2);
    expect(String(errors[0])).toMatch(/publish queue full, oldest event dropped/);

    // 'a' was in flight when dropped: the entries left are c and d, both still sent.
    calls[0]?.answer('done');
    await tick();
    expect(calls.map((call) => call.item)).toEqual(['a', 'c']);
    calls[1]?.answer('done');
    await tick();
    calls[2]?.answer('done');
    await tick();
    expect(calls.map((call) => call.item)).toEqual(['a', 'c', 'd']);
    expect(await isSettled(c)).toBe(true);
    expect(await isSettled(d)).toBe(true);
    expect(stats.queued).toBe(0);
  });

  it('a push stops waiting after timeoutMs, while its item stays queued', async () => {
    const { send, calls } = manualSend();
    const { queue, stats } = queueWith(send, 10, 20);
    const pushed = queue.push('a');
    await pushed;
    expect(stats.queued).toBe(1);
    calls[0]?.answer('done');
    await tick();
    expect(stats.queued).toBe(0);
  });

  it('close settles every waiting push and sends nothing more', async () => {
    const { send, calls } = manualSend();
    const { queue } = queueWith(send);
    const a = queue.push('a');
    const b = queue.push('b');
    queue.close();
    expect(await isSettled(a)).toBe(true);
    expect(await isSettled(b)).toBe(true);
    calls[0]?.answer('done');
    await tick();
    expect(await isSettled(queue.push('c'))).toBe(true);
    expect(calls.map((call) => call.item)).toEqual(['a']);
  });
});
