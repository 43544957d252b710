/**
 * The client when things are less kind: the server goes away and comes back (the event
 * stream must reconnect by itself), and browsers without Web Locks or BroadcastChannel
 * (the localStorage fallbacks must keep one refresh and every tab in step).
 */
import type { BrowserContext, Page, Response } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  browserSuite,
  loggedAt,
  signedInView,
  signedOutView,
  statusOfMe,
  submitCredentials,
  uniqueEmail,
  userActionAt,
} from './harness.js';

const SLOW = 90_000;

const suite = browserSuite({ viewport: { width: 1280, height: 720 } });

interface Demo {
  auth: { refresh(): Promise<boolean> };
}

/** Every answer to `path` the context receives, with when it arrived. */
function answersTo(context: BrowserContext, path: string): { at: number; res: Response }[] {
  const seen: { at: number; res: Response }[] = [];
  context.on('response', (res) => {
    if (new URL(res.url()).pathname === path) seen.push({ at: Date.now(), res });
  });
  return seen;
}

describe('the event stream', () => {
  it(
    'reconnects after the server was gone, and still delivers a revocation',
    async () => {
      const email = uniqueEmail('outage');
      const laptop = await suite.device();
      const streams = answersTo(laptop, '/auth/events');
      const mine = await suite.signedIn('signup', email, laptop);
      const other = await suite.signedIn('login', email);

      const downAt = Date.now();
      await suite.server.restart(1_500);
      // The browser (or the client's own retry) opens a new stream once the server is back.
      await expect
        .poll(() => streams.some((s) => s.at > downAt && s.res.status() === 200), {
          timeout: 30_000,
        })
        .toBe(true);
      await expect(mine.isVisible(signedInView)).resolves.toBe(true);

      const clickedAt = await userActionAt(other, 'click', () => other.click('#btn-logout-all'));
      await mine.waitForSelector(signedOutView);
      expect((await loggedAt(mine, 'signed-out')) - clickedAt).toBeLessThan(2_000);
    },
    SLOW,
  );
});

describe('browsers without Web Locks and BroadcastChannel', () => {
  async function oldBrowserTabs(
    count: number,
  ): Promise<{ tabs: Page[]; refreshes: () => number[] }> {
    const context = await suite.device();
    await context.addInitScript(() => {
      Reflect.deleteProperty(Navigator.prototype, 'locks');
      Reflect.deleteProperty(globalThis, 'BroadcastChannel');
    });
    const answers = answersTo(context, '/auth/refresh');
    const tabs: Page[] = [];
    for (let i = 0; i < count; i += 1) tabs.push(await suite.open(context));
    const missing = await tabs[0]!.evaluate(() => [
      'locks' in navigator,
      typeof (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel,
    ]);
    expect(missing).toEqual([false, 'undefined']);
    return { tabs, refreshes: () => answers.map((a) => a.res.status()) };
  }

  it(
    'keep every tab in step through storage events and send one refresh',
    async () => {
      const { tabs, refreshes } = await oldBrowserTabs(5);
      await submitCredentials(tabs[0]!, 'signup', uniqueEmail('old'));
      const signedInAt = await loggedAt(tabs[0]!, 'signed-in');
      for (const tab of tabs) {
        await tab.waitForSelector(signedInView);
        expect((await loggedAt(tab, 'signed-in')) - signedInAt).toBeLessThan(1_000);
      }

      const results = await Promise.all(
        tabs.map((tab) => tab.evaluate(() => (globalThis as unknown as Demo).auth.refresh())),
      );
      expect(results).toEqual([true, true, true, true, true]);
      expect(refreshes()).toEqual([200]);
      for (const tab of tabs) await expect(statusOfMe(tab)).resolves.toBe(200);

      const clickedAt = await userActionAt(tabs[2]!, 'click', () => tabs[2]!.click('#btn-logout'));
      for (const tab of tabs) {
        await tab.waitForSelector(signedOutView);
        expect((await loggedAt(tab, 'signed-out')) - clickedAt).toBeLessThan(1_000);
      }
    },
    SLOW,
  );
});
