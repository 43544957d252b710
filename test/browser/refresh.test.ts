/**
 * One refresh for every tab: tabs of one browser share the refresh cookie, and the server
 * treats a second use of a rotated refresh token as theft. These tests count the requests
 * to /auth/refresh that leave the browser.
 */
import { writeFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  buildClient,
  launchBrowser,
  openPage,
  pageErrors,
  resultPath,
  type Server,
  signedInView,
  startServer,
  statusOfMe,
  submitCredentials,
  uniqueEmail,
} from './harness.js';

const TTL = 10;
/** Browser tests drive real Chromium on a busy 2-core machine: give each room. */
const SLOW = 90_000;

let shortLived: Server;
let longLived: Server;
let browser: Browser;
const contexts: BrowserContext[] = [];
const timings: Record<string, number> = {};

/** Every /auth/refresh answer the context receives, from any of its pages. */
function refreshAnswers(context: BrowserContext): Response[] {
  const seen: Response[] = [];
  context.on('response', (res) => {
    if (new URL(res.url()).pathname === '/auth/refresh') seen.push(res);
  });
  return seen;
}

/** What app.js puts on the page for the console (and these tests). */
interface Demo {
  auth: { refresh(): Promise<boolean>; expiresAt: number | null };
}

const refreshNow = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as Demo).auth.refresh());

async function openTabs(context: BrowserContext, url: string, count: number): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < count; i += 1) pages.push(await openPage(context, url));
  return pages;
}

beforeAll(async () => {
  await buildClient();
  [shortLived, longLived, browser] = await Promise.all([
    startServer({ accessTokenTtl: TTL }),
    startServer(),
    launchBrowser(),
  ]);
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([shortLived?.close(), longLived?.close()]);
  writeFileSync(resultPath('timings-refresh.json'), `${JSON.stringify(timings, null, 2)}\n`);
});

describe('refresh across tabs', () => {
  it(
    `five tabs with a ${TTL} s access token send exactly one refresh, and all stay signed in`,
    async () => {
      const context = await browser.newContext();
      contexts.push(context);
      const answers = refreshAnswers(context);
      const tabs = await openTabs(context, shortLived.url, 5);
      const first = tabs[0]!;
      await submitCredentials(first, 'signup', uniqueEmail('five'));
      const expiry = await first.evaluate(() => (globalThis as unknown as Demo).auth.expiresAt);
      for (const tab of tabs) await tab.waitForSelector(signedInView);
      expect(expiry).toBeGreaterThan(Date.now());

      // Past the first token's end; the next refresh is due 0.65 of a lifetime after the first.
      await first.waitForTimeout(Math.max(0, expiry! + 500 - Date.now()));
      expect(answers.map((r) => r.status())).toEqual([200]);
      const next = await first.evaluate(() => (globalThis as unknown as Demo).auth.expiresAt);
      timings.refreshedBeforeExpiryMs = expiry! - (next! - TTL * 1000);
      for (const tab of tabs) {
        await expect(tab.isVisible(signedInView)).resolves.toBe(true);
        await expect(statusOfMe(tab)).resolves.toBe(200);
        // Every tab heard of it and counts down to the new expiry.
        await expect(
          tab.evaluate(() => (globalThis as unknown as Demo).auth.expiresAt),
        ).resolves.toBe(next);
      }
      expect(answers).toHaveLength(1);
    },
    SLOW,
  );

  it(
    'five tabs refreshing at the same instant send one request and trip no reuse detection',
    async () => {
      const context = await browser.newContext();
      contexts.push(context);
      const answers = refreshAnswers(context);
      const tabs = await openTabs(context, longLived.url, 5);
      await submitCredentials(tabs[0]!, 'signup', uniqueEmail('instant'));
      for (const tab of tabs) await tab.waitForSelector(signedInView);
      expect(answers).toHaveLength(0);

      // As after a laptop wakes: every tab decides to refresh at once.
      const since = Date.now();
      const results = await Promise.all(tabs.map(refreshNow));
      timings.fiveTabsRefreshAtOnceMs = Date.now() - since;
      expect(results).toEqual([true, true, true, true, true]);
      expect(answers.map((r) => r.status())).toEqual([200]);
      for (const tab of tabs) {
        await expect(tab.isVisible(signedInView)).resolves.toBe(true);
        await expect(statusOfMe(tab)).resolves.toBe(200);
      }

      // The session still refreshes: the rotated token was never sent twice.
      await expect(refreshNow(tabs[4]!)).resolves.toBe(true);
      expect(answers.map((r) => r.status())).toEqual([200, 200]);
    },
    SLOW,
  );

  it(
    'a tab opened after the access token died refreshes on the 401 and retries',
    async () => {
      const context = await browser.newContext();
      contexts.push(context);
      const answers = refreshAnswers(context);
      const [tab] = await openTabs(context, shortLived.url, 1);
      await submitCredentials(tab!, 'signup', uniqueEmail('later'));
      // No tab left to refresh on time, as when the browser was closed over lunch.
      await tab!.close();
      await new Promise((done) => setTimeout(done, TTL * 1000 + 500));
      expect((await context.cookies()).map((c) => c.name)).not.toContain('__Host-nb_access');

      const back = await openPage(context, shortLived.url);
      await expect(back.isVisible(signedInView)).resolves.toBe(true);
      expect(answers.map((r) => r.status())).toEqual([200]);
      await expect(statusOfMe(back)).resolves.toBe(200);
    },
    SLOW,
  );
});
