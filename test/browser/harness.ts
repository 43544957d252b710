/**
 * Real Chromium against the real server: `notbefore serve` runs as a child process on a
 * fresh SQLite file, the page is the demo in web/, the client bundle is built from src/client
 * first. Nothing here stands in for the server.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type CDPSession,
  chromium,
  type Page,
} from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { SmtpSink } from '../mail/smtp-sink.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const RESULTS = join(ROOT, 'test-results/browser');
export const ADMIN_EMAIL = 'admin@example.com';
export const PASSWORD = 'correct horse battery staple';

const CHROMIUM = process.env.NOTBEFORE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Bundles src/client into web/notbefore-client.js, so the page runs the code under test. */
export async function buildClient(): Promise<void> {
  await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/build-client.mjs')], {
    cwd: ROOT,
  });
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface Server {
  url: string;
  /** Everything the server printed (its log at level warn, and the listening line). */
  output(): string;
  /**
   * The newest `--admin-email` invitation link in the log: `--admin-email` invites instead of
   * granting admin at signup (see {@link acceptInvitation}).
   */
  adminInvitation(): string | undefined;
  /** Stops the server and starts it again on the same port and database (a network outage). */
  restart(downMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A port nothing listens on right now (the server is then started on it). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as AddressInfo;
  await new Promise((done) => probe.close(done));
  return port;
}

export interface StartOptions {
  accessTokenTtl?: number;
  flags?: string[];
  publicUrl?: boolean;
}

/**
 * Starts `notbefore serve` on a free port, on a fresh SQLite file, and resolves its URL.
 * With `publicUrl`, the URL is `http://localhost:PORT` and the server is told so: WebAuthn
 * needs a domain as relying-party id (never an IP address), and localhost is a secure
 * context over plain http.
 */
export async function startServer(options: StartOptions = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'notbefore-browser-'));
  const flags = [
    '--db',
    `sqlite:${join(dir, 'auth.db')}`,
    '--admin-email',
    ADMIN_EMAIL,
    '--rate-limit',
    '0',
    '--log-level',
    'warn',
    ...(options.accessTokenTtl === undefined
      ? []
      : ['--access-token-ttl', String(options.accessTokenTtl)]),
    ...(options.flags ?? []),
  ];
  const port = options.publicUrl ? await freePort() : 0;
  if (options.publicUrl) flags.push('--public-url', `http://localhost:${port}`);
  let running = await spawnServer([...flags, '--port', String(port)]);
  const url = options.publicUrl ? `http://localhost:${port}` : running.url;
  let earlier = '';
  const output = () => earlier + running.output();
  return {
    url,
    output,
    adminInvitation: () =>
      [...output().matchAll(/"link":"(https?:[^"]+#invitation=[\w-]+)"/g)].at(-1)?.[1],
    async restart(downMs) {
      await stop(running.child);
      await new Promise((done) => setTimeout(done, downMs));
      const next = await spawnServer([...flags, '--port', new URL(url).port]);
      earlier = output();
      running = next;
    },
    async close() {
      await stop(running.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function spawnServer(
  flags: string[],
): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const args = ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve', ...flags];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /https?:\/\/[^\s"]+/.exec(output);
      if (found) {
        clearTimeout(timer);
        done(found[0]);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return { url, child, output: () => output };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export function resultPath(name: string): string {
  mkdirSync(RESULTS, { recursive: true });
  return join(RESULTS, name);
}

let counter = 0;
/** A fresh address per test, so tests never share a user. */
export function uniqueEmail(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${counter}@example.com`;
}

export const signedInView = '#signed-in:not([hidden])';
export const signedOutView = '#signed-out:not([hidden])';

/** Uncaught errors from every page opened with openPage; tests expect none. */
export const pageErrors: string[] = [];

export async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => {
    pageErrors.push(error.message);
  });
  await page.goto(url);
  await page.waitForSelector(`${signedInView}, ${signedOutView}`);
  return page;
}

/** Fills the form and presses Enter, as a person would; what the page answers is not awaited. */
export async function enterCredentials(
  page: Page,
  mode: 'login' | 'signup',
  email: string,
  password = PASSWORD,
): Promise<void> {
  await page.click(mode === 'login' ? '#tab-login' : '#tab-signup');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
}

/** {@link enterCredentials}, then waits until the page is signed in. */
export async function submitCredentials(
  page: Page,
  mode: 'login' | 'signup',
  email: string,
  password = PASSWORD,
): Promise<void> {
  await enterCredentials(page, mode, email, password);
  await page.waitForSelector(signedInView);
}

/**
 * Runs `act` and returns when (Date.now() inside the page) the page saw the resulting
 * `click` or `submit` event: the start of what the user did, without the test driver's
 * own overhead (pages of one browser share the clock).
 */
export async function userActionAt(
  page: Page,
  type: 'click' | 'submit',
  act: () => Promise<void>,
): Promise<number> {
  await page.evaluate((t) => {
    document.addEventListener(
      t,
      () => {
        document.documentElement.dataset.actionAt = String(Date.now());
      },
      { capture: true, once: true },
    );
  }, type);
  await act();
  const at = await page.evaluate(() => document.documentElement.dataset.actionAt);
  return Number(at);
}

/**
 * Waits for the demo's live log to show an entry of `kind` (the log is written in the same
 * handler that redraws the page) and returns when it was written, by the page's clock.
 */
export async function loggedAt(page: Page, kind: string, timeout = 10_000): Promise<number> {
  const item = page.locator(`#log li[data-kind="${kind}"]`).first();
  await item.waitFor({ state: 'attached', timeout });
  return Number(await item.getAttribute('data-at'));
}

/** Counts full page loads after this call: a reaction "without reload" keeps it at zero. */
export function countLoads(page: Page): () => number {
  let loads = 0;
  page.on('load', () => {
    loads += 1;
  });
  return () => loads;
}

/** An authenticated call from inside the page, with the page's cookies. */
export function statusOfMe(page: Page): Promise<number> {
  return page.evaluate(async () => (await fetch('/auth/me')).status);
}

/** The `amr` claim the server verified for this page's cookies (null when it has none). */
export function amrOf(page: Page): Promise<string[] | null> {
  return page.evaluate(
    async () => ((await (await fetch('/auth/me')).json()).claims.amr ?? null) as string[] | null,
  );
}

/**
 * A platform authenticator (CTAP2, resident keys, user verification) on `page`, as Touch ID
 * or Windows Hello would be. `present: false` leaves it waiting for a touch that never comes
 * (a user who has not answered yet); `verified: false` fails user verification (as when the
 * user dismisses the prompt). WebAuthn answers only the focused tab.
 */
export async function addAuthenticator(
  page: Page,
  { present = true, verified = true } = {},
): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: verified,
      automaticPresenceSimulation: present,
    },
  });
  return { cdp, authenticatorId };
}

/**
 * Opens a mailed invitation link in `page` (the demo reads it from the fragment), chooses
 * `password`, and waits until the new account is signed in.
 */
export async function acceptInvitation(
  page: Page,
  link: string,
  password = PASSWORD,
): Promise<void> {
  await page.goto(link);
  await page.waitForSelector('#link-dialog[open] #link-password');
  await page.fill('#link-password', password);
  await page.press('#link-password', 'Enter');
  await page.waitForSelector(signedInView);
}

/** One test file's server and Chromium, and the devices (browser contexts) of each test. */
export interface BrowserSuite {
  /** Started before the first test. */
  readonly server: Server;
  /** With `mail: true`: the SMTP server the server mails through, started before it. */
  readonly mail: SmtpSink;
  /**
   * A new browser context: a device of its own (cookies, storage), closed after the test.
   * `options` (a user agent, a phone's viewport, …) go over the suite's viewport.
   */
  device(options?: BrowserContextOptions): Promise<BrowserContext>;
  /**
   * Opens `url` (the demo page unless given) on a new device; given a context, opens the demo
   * page there (another tab of that device).
   */
  open(where?: string | BrowserContext): Promise<Page>;
  /** Opens the demo page on `context` (a new device unless given) and signs up or in there. */
  signedIn(mode: 'login' | 'signup', email: string, context?: BrowserContext): Promise<Page>;
}

/**
 * Registers the hooks of a test file that drives the demo page: before all, bundles the
 * client and starts the server (with `server()`'s options, read then) and Chromium; after each
 * test, closes its devices and fails it on any uncaught page error; after all, stops them.
 * Called inside a `describe`, the hooks are that block's. With `mail`, a real SMTP server
 * (test/mail/smtp-sink.ts) is started first and the server mails through it (`--smtp`,
 * `--mail-from`); it stops last. `setupTimeout` bounds the start (default: the hook timeout).
 */
export function browserSuite(
  options: {
    server?: () => StartOptions;
    viewport?: { width: number; height: number };
    mail?: boolean;
    setupTimeout?: number;
  } = {},
): BrowserSuite {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let sink: SmtpSink | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    await buildClient();
    // Loaded only here: most suites send no mail.
    if (options.mail) sink = await (await import('../mail/smtp-sink.js')).startSmtpSink();
    const start = options.server?.() ?? {};
    const mailFlags = sink ? ['--smtp', sink.url, '--mail-from', 'Demo <demo@example.com>'] : [];
    [server, browser] = await Promise.all([
      startServer({ ...start, flags: [...mailFlags, ...(start.flags ?? [])] }),
      launchBrowser(),
    ]);
  }, options.setupTimeout);
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    expect(pageErrors.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await sink?.close();
  });
  const suite: BrowserSuite = {
    get server() {
      return started(server);
    },
    get mail() {
      if (!options.mail) throw new Error('no mail server: browserSuite({ mail: true }) starts one');
      return started(sink);
    },
    async device(contextOptions) {
      const context = await started(browser).newContext({
        viewport: options.viewport ?? { width: 1280, height: 900 },
        ...contextOptions,
      });
      contexts.push(context);
      return context;
    },
    async open(where) {
      if (typeof where === 'object') return openPage(where, suite.server.url);
      return openPage(await suite.device(), where ?? suite.server.url);
    },
    async signedIn(mode, email, context) {
      const page = await openPage(context ?? (await suite.device()), suite.server.url);
      await submitCredentials(page, mode, email);
      return page;
    },
  };
  return suite;
}

function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('read before beforeAll started it');
  return value;
}
