/**
 * The demo page and notbefore/client in real Chromium against `notbefore serve`: two
 * browser contexts are two devices, two pages in one context are two tabs.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  acceptInvitation,
  browserSuite,
  countLoads,
  loggedAt,
  ROOT,
  resultPath,
  signedInView,
  signedOutView,
  statusOfMe,
  submitCredentials,
  uniqueEmail,
  userActionAt,
} from './harness.js';

/** Browser tests drive real Chromium on a busy 2-core machine: give each room. */
const SLOW = 90_000;

const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/126.0.0.0 Safari/537.36';
/** An iPhone: its user agent, screen and touch. */
const PHONE = {
  userAgent: IPHONE,
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

// The README's picture (docs/demo.png) is taken at this size.
const suite = browserSuite({ viewport: { width: 1280, height: 720 } });
const timings: Record<string, number> = {};

afterAll(() => {
  writeFileSync(resultPath('timings-sessions.json'), `${JSON.stringify(timings, null, 2)}\n`);
});

describe('tabs of one browser', () => {
  it(
    'signing in through the page signs in the other tab, and no script can read a token',
    async () => {
      const laptop = await suite.device();
      const tab1 = await suite.open(laptop);
      const tab2 = await suite.open(laptop);
      await expect(tab1.isVisible(signedOutView)).resolves.toBe(true);

      const email = uniqueEmail('tabs');
      await submitCredentials(tab1, 'signup', email);
      await tab2.waitForSelector(signedInView);
      const lag = (await loggedAt(tab2, 'signed-in')) - (await loggedAt(tab1, 'signed-in'));
      timings.secondTabSignedInMs = lag;
      expect(lag).toBeLessThan(1_000);
      await expect(tab2.textContent('#user-email')).resolves.toBe(email);

      // A tab opened later restores the session from the cookies.
      const tab3 = await suite.open(laptop);
      await expect(tab3.isVisible(signedInView)).resolves.toBe(true);

      const cookies = await laptop.cookies();
      const byName = new Map(cookies.map((c) => [c.name, c]));
      expect(byName.get('__Host-nb_access')?.httpOnly).toBe(true);
      expect(byName.get('__Secure-nb_refresh')?.httpOnly).toBe(true);
      expect(byName.get('__Secure-nb_refresh')?.path).toBe('/auth');
      for (const tab of [tab1, tab2, tab3]) {
        const visible = await tab.evaluate(() => document.cookie);
        expect(visible).toContain('__Host-nb_csrf=');
        expect(visible).not.toContain('nb_access');
        expect(visible).not.toContain('nb_refresh');
        const access = byName.get('__Host-nb_access')?.value ?? 'missing';
        const html = await tab.content();
        expect(html).not.toContain(access);
      }
    },
    SLOW,
  );

  it(
    'signing out in one tab shows the other tab the sign-in form within 1 s; another device stays in',
    async () => {
      const email = uniqueEmail('logout');
      const laptop = await suite.device();
      const phone = await suite.device(PHONE);
      const tab1 = await suite.signedIn('signup', email, laptop);
      const tab2 = await suite.open(laptop);
      await expect(tab2.isVisible(signedInView)).resolves.toBe(true);
      const other = await suite.signedIn('login', email, phone);
      const otherLoads = countLoads(other);

      const clickedAt = await userActionAt(tab1, 'click', () => tab1.click('#btn-logout'));
      await tab2.waitForSelector(signedOutView);
      timings.otherTabSignedOutMs = (await loggedAt(tab2, 'signed-out')) - clickedAt;
      expect(timings.otherTabSignedOutMs).toBeLessThan(1_000);
      await expect(tab1.isVisible(signedOutView)).resolves.toBe(true);
      await expect(tab2.textContent('#auth-error')).resolves.toBe('You signed out in another tab.');
      await tab1.waitForFunction(() => !document.cookie.includes('nb_csrf')); // cleared by the server
      await expect(statusOfMe(tab2)).resolves.toBe(401);

      await other.waitForTimeout(1_500);
      await expect(other.isVisible(signedInView)).resolves.toBe(true);
      await expect(statusOfMe(other)).resolves.toBe(200);
      expect(otherLoads()).toBe(0);
    },
    SLOW,
  );
});

describe('devices', () => {
  it(
    'signing out everywhere on one device shows the other device the sign-in form within 2 s, without reload',
    async () => {
      const email = uniqueEmail('everywhere');
      const laptop = await suite.device();
      const phone = await suite.device(PHONE);
      const mine = await suite.signedIn('signup', email, laptop);
      const other = await suite.signedIn('login', email, phone);
      const otherLoads = countLoads(other);

      const clickedAt = await userActionAt(mine, 'click', () => mine.click('#btn-logout-all'));
      await other.waitForSelector(signedOutView);
      timings.logoutAllOtherDeviceMs = (await loggedAt(other, 'signed-out')) - clickedAt;
      expect(timings.logoutAllOtherDeviceMs, (await other.textContent('#log')) ?? '').toBeLessThan(
        2_000,
      );
      await expect(mine.isVisible(signedOutView)).resolves.toBe(true);
      await expect(other.textContent('#auth-error')).resolves.toContain('on every device');
      await expect(statusOfMe(other)).resolves.toBe(401);
      expect(otherLoads()).toBe(0);
    },
    SLOW,
  );

  it(
    'ending the other device from the sessions list signs it out within 2 s; this one stays',
    async () => {
      const email = uniqueEmail('end');
      const laptop = await suite.device({ userAgent: MAC });
      const phone = await suite.device(PHONE);
      const mine = await suite.signedIn('signup', email, laptop);
      const other = await suite.signedIn('login', email, phone);
      const otherLoads = countLoads(other);

      await mine.click('#btn-reload-sessions');
      await mine.waitForSelector('#sessions-list li.session:nth-child(2)');
      await expect(mine.textContent('#sessions-list .is-current .session-device')).resolves.toBe(
        'Chrome on macOS',
      );
      await expect(mine.textContent('#sessions-list .is-current .badge')).resolves.toBe(
        'This device',
      );
      await mine.locator('#sessions').screenshot({ path: resultPath('sessions-list.png') });

      const clickedAt = await userActionAt(mine, 'click', () =>
        mine.click('#sessions-list li.session:not(.is-current) button'),
      );
      await other.waitForSelector(signedOutView);
      timings.endedDeviceSignedOutMs = (await loggedAt(other, 'signed-out')) - clickedAt;
      expect(timings.endedDeviceSignedOutMs).toBeLessThan(2_000);
      expect(otherLoads()).toBe(0);
      await mine.waitForFunction(
        () => document.querySelectorAll('#sessions-list li.session').length === 1,
      );
      await expect(mine.isVisible(signedInView)).resolves.toBe(true);
      await expect(statusOfMe(mine)).resolves.toBe(200);
    },
    SLOW,
  );

  it(
    'a password change ends the other device and keeps both tabs of this one',
    async () => {
      const email = uniqueEmail('password');
      const laptop = await suite.device();
      const phone = await suite.device(PHONE);
      const tab1 = await suite.signedIn('signup', email, laptop);
      const tab2 = await suite.open(laptop);
      const other = await suite.signedIn('login', email, phone);

      await tab1.click('#btn-password');
      await tab1.fill('#pw-current', 'not my password');
      await tab1.fill('#pw-next', 'a whole new passphrase');
      await tab1.press('#pw-next', 'Enter');
      await tab1.waitForSelector('#pw-error:not([hidden])');
      await tab1.fill('#pw-current', 'correct horse battery staple');
      const submittedAt = await userActionAt(tab1, 'submit', () => tab1.press('#pw-next', 'Enter'));
      await other.waitForSelector(signedOutView);
      timings.passwordChangeOtherDeviceMs = (await loggedAt(other, 'signed-out')) - submittedAt;
      expect(timings.passwordChangeOtherDeviceMs).toBeLessThan(2_000);
      await tab1.waitForSelector('#password-dialog:not([open])', { state: 'attached' });
      for (const tab of [tab1, tab2]) {
        await expect(tab.isVisible(signedInView)).resolves.toBe(true);
        await expect(statusOfMe(tab)).resolves.toBe(200);
      }
      await tab2.waitForFunction(() =>
        document.querySelector('#log')?.textContent?.includes('new password'),
      );
    },
    SLOW,
  );

  it(
    "an admin's role change reaches the user's page at once, without signing out",
    async () => {
      const admin = await suite.open(await suite.device({ userAgent: MAC }));
      await acceptInvitation(admin, suite.server.adminInvitation() ?? '');
      await admin.waitForSelector('#admin:not([hidden])');

      const email = 'ada.lovelace@example.com'; // this server's only Ada: the README's picture
      const laptop = await suite.device({ userAgent: MAC });
      const user = await suite.signedIn('signup', email, laptop);
      const second = await suite.open(laptop);
      const phone = await suite.signedIn('login', email, await suite.device(PHONE));
      const loads = countLoads(user);
      await expect(user.isHidden('#admin')).resolves.toBe(true);
      const userId = (await user.textContent('#user-id')) ?? '';

      await admin.fill('#roles-user', userId);
      await admin.fill('#roles-value', 'editor, billing');
      const submittedAt = await userActionAt(admin, 'submit', () =>
        admin.press('#roles-value', 'Enter'),
      );
      await user.waitForFunction(() =>
        document.querySelector('#user-roles')?.textContent?.includes('editor'),
      );
      timings.roleChangeShownMs = (await loggedAt(user, 'roles')) - submittedAt;
      expect(timings.roleChangeShownMs).toBeLessThan(2_000);
      await admin.waitForSelector('#roles-result[data-tone="good"]');
      for (const page of [user, second, phone]) {
        await page.waitForFunction(
          () => document.querySelector('#user-roles')?.textContent === 'editorbilling',
        );
        await expect(page.isVisible(signedInView)).resolves.toBe(true);
        await expect(statusOfMe(page)).resolves.toBe(200);
      }
      expect(loads()).toBe(0);
      await user.waitForFunction(() =>
        document.querySelector('#log')?.textContent?.includes('roles changed'),
      );

      // The pictures: the signed-in page after a few events, on a laptop and on a phone.
      await user.click('#btn-reload-sessions');
      await user.waitForSelector('#sessions-list li.session:nth-child(2)');
      const desktopShot = resultPath('signed-in.png');
      await user.screenshot({ path: desktopShot, fullPage: true });
      await phone.screenshot({ path: resultPath('signed-in-phone.png'), fullPage: true });
      // The README's picture changes only on request, so test runs leave the tree clean.
      const readmeShot = join(ROOT, 'docs/demo.png');
      if (process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(readmeShot)) {
        mkdirSync(join(ROOT, 'docs'), { recursive: true });
        copyFileSync(desktopShot, readmeShot);
      }
    },
    SLOW,
  );
});
