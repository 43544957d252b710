// notbefore as a user installs it: `npm pack`, then the tarball installed into scratch apps
// outside the repo, each with only the frameworks and drivers it uses.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisFeed } from '../../src/feeds/redis.js';
import { createAuth } from '../../src/sessions/auth.js';
import type { Auth } from '../../src/sessions/types.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { type SmtpSink, startSmtpSink } from '../mail/smtp-sink.js';

const ROOT = resolve(import.meta.dirname, '../..');
const APPS = join(import.meta.dirname, 'apps');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
};
const PEERS = Object.keys(PKG.peerDependencies).filter((name) => !name.startsWith('@types/'));
const PG_ADMIN_URL =
  process.env.NOTBEFORE_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.NOTBEFORE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ISSUER = 'https://auth.consumer.test';
const PASSWORD = 'correct horse battery staple';
const MINUTES = 60_000;

// ---------------------------------------------------------------------------------------
// Processes

interface Ran {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

/**
 * The environment of a user's shell: the npm_* variables of the `npm test` that may be
 * running us (its prefix, its package, its lifecycle) must not leak into the scratch apps.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    const npmOwn = /^npm_/i.test(name) && !/^npm_config_(cache|registry|userconfig)$/i.test(name);
    if (!npmOwn && name !== 'INIT_CWD' && name !== 'NODE_OPTIONS') env[name] = value;
  }
  return { ...env, ...extra };
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = userEnv(),
): Promise<Ran> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, out, err, ms: Date.now() - started }));
  });
}

async function ok(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv) {
  const ran = await run(command, args, cwd, env);
  if (ran.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${ran.code}\n${ran.out}\n${ran.err}`);
  }
  return ran;
}

interface App {
  child: ChildProcess;
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts `node file` (or a bin) in an app folder and waits for "listening <url>". */
async function startApp(
  dir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<App> {
  const child = spawn(process.execPath, args, {
    cwd: dir,
    env: userEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => {
    text += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  const end = Date.now() + 30_000;
  for (;;) {
    const match = /listening (?:on )?(http:\/\/\S+)/.exec(text);
    if (match?.[1] !== undefined) {
      return {
        child,
        url: match[1],
        output: () => text,
        async stop() {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        },
      };
    }
    if (child.exitCode !== null || Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`${args.join(' ')} did not start:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------
// Scratch apps

let work: string;
let tarball: string;
let packedFiles: string[] = [];
const numbers: Record<string, string> = {};

interface Installed {
  dir: string;
  /** Every package folder under node_modules, nested ones included. */
  packages: string[];
  bytes: number;
  seconds: number;
}

function packagesIn(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const names = entry.startsWith('@')
      ? readdirSync(join(nodeModules, entry)).map((n) => `${entry}/${n}`)
      : [entry];
    for (const name of names) {
      found.push(name);
      found.push(...packagesIn(join(nodeModules, name, 'node_modules')));
    }
  }
  return found;
}

function sizeOf(path: string): number {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  let total = 0;
  for (const entry of readdirSync(path)) total += sizeOf(join(path, entry));
  return total;
}

/** Files named `name` anywhere under `dir` (for node-gyp leftovers). */
function findFiles(dir: string, name: string): string[] {
  const hits: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !entry.isSymbolicLink()) hits.push(...findFiles(path, name));
    else if (entry.name === name) hits.push(path);
  }
  return hits;
}

/** The version the checkout has, so the scratch install is served from the npm cache. */
function checkoutVersion(name: string): string {
  return (
    JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
}

async function install(
  name: string,
  files: string[],
  deps: string[],
  options: { ignoreScripts?: boolean; env?: Record<string, string> } = {},
): Promise<Installed> {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name, private: true, type: 'module' }, null, 2)}\n`,
  );
  for (const file of files) copyFileSync(join(APPS, file), join(dir, file.split('/').at(-1)!));
  const args = ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball];
  for (const dep of deps) args.push(`${dep}@${checkoutVersion(dep)}`);
  if (options.ignoreScripts === true) args.push('--ignore-scripts');
  const ran = await ok('npm', args, dir, userEnv(options.env));
  const installed: Installed = {
    dir,
    packages: packagesIn(join(dir, 'node_modules')),
    bytes: sizeOf(join(dir, 'node_modules')),
    seconds: ran.ms / 1000,
  };
  numbers[`${name} install`] =
    `${installed.packages.length} packages, ${(installed.bytes / 2 ** 20).toFixed(1)} MiB, ` +
    `${installed.seconds.toFixed(1)} s`;
  return installed;
}

/** What a user's app must not carry: every peer it does not use. */
function expectOnly(app: Installed, used: string[]): void {
  const unused = PEERS.filter((peer) => !used.includes(peer));
  expect(app.packages.filter((p) => unused.includes(p))).toEqual([]);
  for (const name of ['jose', '@hono/node-server', 'vitest']) {
    if (!used.includes(name)) expect(app.packages).not.toContain(name);
  }
}

// ---------------------------------------------------------------------------------------
// The round trip every app must pass

async function call(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; json: () => Record<string, unknown> }> {
  const headers: Record<string, string> = { 'x-auth-transport': 'bearer' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** signup → login → protected route → logout → 401, all over HTTP. */
async function roundTrip(base: string, protectedPath: string): Promise<void> {
  const email = `ann-${randomBytes(4).toString('hex')}@example.com`;
  const signup = await call(base, 'POST', '/auth/signup', undefined, { email, password: PASSWORD });
  expect(signup.status).toBe(201);
  const login = await call(base, 'POST', '/auth/login', undefined, { email, password: PASSWORD });
  expect(login.status).toBe(200);
  const token = login.json().accessToken as string;
  const allowed = await call(base, 'GET', protectedPath, token);
  expect(allowed.status).toBe(200);
  expect(await call(base, 'POST', '/auth/logout', token)).toMatchObject({ status: 204 });
  const refused = await call(base, 'GET', protectedPath, token);
  expect(refused.status).toBe(401);
  expect(refused.json()).toMatchObject({ error: { code: 'TOKEN_REVOKED' } });
}

// ---------------------------------------------------------------------------------------
// The static import graph of the installed dist

/** Module specifiers of the static import/export declarations of one JS file. */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const found: string[] = [];
  for (const statement of source.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier !== undefined &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      found.push(statement.moduleSpecifier.text);
    }
  }
  return found;
}

/** Every module a .d.ts names: declarations, `import("…")` types, `/// <reference types>`. */
function typeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const found = source.typeReferenceDirectives.map((ref) => ref.fileName);
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      found.push(node.argument.literal.text);
    } else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) {
      found.push(node.name.text); // an augmentation (`declare module 'fastify'`)
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * Bare packages reached from `entry` through `imports` (JS: static imports only, as dynamic
 * ones load lazily; .d.ts: everything a type-checker follows).
 */
function packagesReached(entry: string, imports: (file: string) => string[]): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const ext = entry.endsWith('.d.ts') ? '.d.ts' : '.js';
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of imports(file)) {
      if (specifier.startsWith('.')) {
        visit(resolve(dirname(file), specifier).replace(/\.js$/, ext));
      } else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
        const parts = specifier.split('/');
        packages.add(specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
      }
    }
  };
  visit(entry);
  return packages;
}

// ---------------------------------------------------------------------------------------

const started = Date.now();

beforeAll(async () => {
  await ok(process.execPath, ['scripts/build.mjs', '--if-stale'], ROOT);
  work = await mkdtemp(join(tmpdir(), 'notbefore-consumer-'));
  // dist/ is current (npm test builds first): the prepack build would only repeat it.
  const packed = await ok(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    ROOT,
  );
  const info = (
    JSON.parse(packed.out) as Array<{
      filename: string;
      size: number;
      unpackedSize: number;
      files: Array<{ path: string }>;
    }>
  )[0]!;
  tarball = join(work, info.filename);
  packedFiles = info.files.map((f) => f.path);
  numbers.tarball =
    `${(info.size / 1024).toFixed(0)} KiB packed, ${(info.unpackedSize / 1024).toFixed(0)} KiB ` +
    `unpacked, ${packedFiles.length} files`;
}, 2 * MINUTES);

afterAll(async () => {
  numbers['whole consumer test'] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  console.log(
    `consumer test numbers:\n${Object.entries(numbers)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}`,
  );
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('ships dist without source maps or benchmarks, web, the README; every export target is in it', () => {
    expect(packedFiles.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(packedFiles.filter((f) => f.startsWith('src/') || f.startsWith('bench/'))).toEqual([]);
    expect(packedFiles.filter((f) => /^dist\/(bench|cli\/bench)/.test(f))).toEqual([]);
    expect(packedFiles).toContain('README.md');
    expect(packedFiles).toContain('web/notbefore-client.js');
    for (const target of Object.values(PKG.exports)) {
      const paths = typeof target === 'string' ? [target] : [target.types, target.default];
      for (const path of paths) expect(packedFiles).toContain(path.replace(/^\.\//, ''));
    }
  });

  it('publint finds nothing', async () => {
    const ran = await run(
      join(ROOT, 'node_modules/.bin/publint'),
      ['run', '--strict', tarball],
      work,
    );
    expect(ran.code, ran.out + ran.err).toBe(0);
    expect(ran.out).toContain('All good');
  });

  it(
    'are-the-types-wrong finds nothing for ESM consumers',
    async () => {
      // The package is ESM only, so the profile `esm-only` leaves out the two resolutions
      // that cannot work by design: `node10` (predates "exports": no subpath resolves) and
      // `node16` from CommonJS (a require() of an ESM file). Every other check stays on.
      const ran = await run(
        join(ROOT, 'node_modules/.bin/attw'),
        ['--profile', 'esm-only', '--no-emoji', '--no-color', tarball],
        work,
      );
      expect(ran.code, ran.out + ran.err).toBe(0);
      // attw type-checks every subpath of the tarball: ~20 s alone, more beside other suites.
    },
    2 * MINUTES,
  );
});

describe('Express + PostgreSQL app (express.json() mounted first)', () => {
  let app: Installed;
  const database = `notbefore_consumer_${process.pid}_${randomBytes(4).toString('hex')}`;

  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    app = await install(
      'express-postgres',
      ['express-postgres.mjs', 'peers.mjs'],
      ['express', 'pg'],
    );
    await admin(`CREATE DATABASE ${database}`);
  }, 5 * MINUTES);
  afterAll(async () => {
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('installs notbefore, express and pg only, and compiles nothing', () => {
    expectOnly(app, ['express', 'pg']);
    expect(app.packages).toEqual(expect.arrayContaining(['notbefore', 'express', 'pg']));
    expect(findFiles(join(app.dir, 'node_modules'), 'config.gypi')).toEqual([]);
  });

  it(
    'round trip: signup → login → protected route → logout → 401',
    async () => {
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${database}`;
      const server = await startApp(app.dir, ['express-postgres.mjs'], { PG_URL: url.toString() });
      try {
        await roundTrip(server.url, '/private');
      } finally {
        await server.stop();
      }
    },
    MINUTES,
  );

  it('importing notbefore, /express, /postgres loads only what each needs', async () => {
    const imported = async (specifier: string) => {
      const ran = await ok(process.execPath, ['peers.mjs', specifier], app.dir);
      return JSON.parse(ran.out) as { ok: boolean; loaded?: string[]; message?: string };
    };
    const main = await imported('notbefore');
    expect(main.ok).toBe(true);
    expect(main.loaded?.filter((p) => PEERS.includes(p))).toEqual([]);
    expect((await imported('notbefore/express')).loaded).toContain('express');
    expect((await imported('notbefore/express')).loaded).not.toContain('pg');
    expect((await imported('notbefore/postgres')).loaded).toContain('pg');
  });

  it('a subpath whose peer is missing fails with one line naming the package to install', async () => {
    const expected: Record<string, string[]> = {
      'notbefore/sqlite': ['better-sqlite3'],
      'notbefore/fastify': ['fastify', 'fastify-plugin'],
      'notbefore/hono': ['hono'],
      'notbefore/redis': ['ioredis'],
      'notbefore/metrics': ['prom-client'],
      'notbefore/testing': ['vitest'],
      // No store given: createAuth falls back to an in-memory SQLite.
      'createAuth()': ['better-sqlite3'],
    };
    for (const [specifier, packages] of Object.entries(expected)) {
      const ran = await ok(process.execPath, ['peers.mjs', specifier], app.dir);
      const result = JSON.parse(ran.out) as { ok: boolean; message: string };
      expect(result.ok, specifier).toBe(false);
      expect(result.message.split('\n'), specifier).toHaveLength(1);
      expect(result.message, specifier).toContain(`npm i ${packages.join(' ')}`);
    }
    // Uncaught, as in an app that just imports it: the line is what Node prints.
    const uncaught = await run(
      process.execPath,
      ['--input-type=module', '-e', "import 'notbefore/sqlite';"],
      app.dir,
    );
    expect(uncaught.code).toBe(1);
    expect(uncaught.err).toContain(
      'notbefore/sqlite needs better-sqlite3, which is not installed: npm i better-sqlite3',
    );
    // notbefore/mail loads without nodemailer (logMailer, the queue and the templates need
    // none); smtpMailer, the one part that does, names it when called.
    const mail = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import('notbefore/mail');
        await m.logMailer((line) => console.log(line.split('\\n', 1)[0])).send(
          m.renderMail('password-changed', { productName: 'App', to: 'a@example.com', at: 0 }));
        try { m.smtpMailer('smtp://127.0.0.1:25', { from: 'a@example.com' }); }
        catch (e) { console.log(e.code + ' ' + e.message); }`,
      ],
      app.dir,
    );
    expect(mail.err).toBe('');
    expect(mail.out).toBe(
      'mail to a@example.com: Your App password was changed\n' +
        'ERR_NOTBEFORE_MISSING_PEER smtpMailer (notbefore/mail) needs nodemailer, which is not installed: npm i nodemailer\n',
    );
  });

  it('the CLI: --version, keys without any peer, serve names what to install, bench is gone', async () => {
    const bin = join(app.dir, 'node_modules/.bin/notbefore');
    const version = await run(bin, ['--version'], app.dir);
    expect(version).toMatchObject({ code: 0, out: `${PKG.version}\n` });
    const keys = await run(bin, ['keys', 'generate'], app.dir);
    expect(keys.code).toBe(0);
    expect(JSON.parse(keys.out).keys[0].d).toEqual(expect.any(String));
    const serve = await run(bin, ['serve', '--port', '0'], app.dir);
    expect(serve.code).toBe(1);
    expect(serve.err).toBe(
      'notbefore: serve needs fastify, fastify-plugin, pino, prom-client and better-sqlite3, ' +
        'which are not installed: npm i fastify fastify-plugin pino prom-client better-sqlite3\n',
    );
    const bench = await run(bin, ['bench', '--quick'], app.dir);
    expect(bench.code).toBe(2);
    expect(bench.err).toMatch(/^notbefore: .*npm run bench.*; see notbefore help\n$/);
    expect(findFiles(join(app.dir, 'node_modules'), 'latest.json')).toEqual([]);
  });

  it('no shipped module statically imports a peer: each subpath loads its own lazily', () => {
    const dist = join(app.dir, 'node_modules/notbefore');
    const allowed = new Set(Object.keys(PKG.dependencies));
    for (const [subpath, target] of Object.entries(PKG.exports)) {
      if (typeof target === 'string') continue;
      const reached = [...packagesReached(join(dist, target.default), staticImports)];
      expect(
        reached.filter((p) => !allowed.has(p)),
        subpath,
      ).toEqual([]);
    }
    // The walk does see static imports: the module behind notbefore/metrics has one.
    expect([...packagesReached(join(dist, 'dist/metrics.js'), staticImports)]).toContain(
      'prom-client',
    );
    // vitest only in the conformance suites, which only notbefore/testing loads.
    const jsFiles = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? jsFiles(join(dir, e.name))
          : e.name.endsWith('.js')
            ? [join(dir, e.name)]
            : [],
      );
    const vitestUsers = jsFiles(join(dist, 'dist'))
      .filter((file) => staticImports(file).includes('vitest'))
      .map((file) => relative(dist, file));
    expect(vitestUsers).toContain('dist/stores/conformance.js');
    expect(vitestUsers).toContain('dist/feeds/conformance.js');
    expect(vitestUsers.filter((file) => !/\/conformance(\/|\.js$)/.test(file))).toEqual([]);
  });
});

/**
 * better-sqlite3 compiles from source when no prebuilt binary can be downloaded (this
 * machine reaches only the npm registry). The checkout compiled one already: handing it to
 * prebuild-install as a local prebuild takes the path most users take (a prebuilt binary)
 * and saves a minute of compiling on a shared machine. NOTBEFORE_CONSUMER_COMPILE=1
 * compiles instead.
 */
function localPrebuild(): Record<string, string> {
  const version = checkoutVersion('better-sqlite3');
  const binary = join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  if (process.env.NOTBEFORE_CONSUMER_COMPILE === '1' || !existsSync(binary)) return {};
  const dir = join(work, 'prebuilds');
  mkdirSync(dir, { recursive: true });
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  prebuildTar = { dir, name };
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}
let prebuildTar: { dir: string; name: string } | undefined;

async function sqliteEnv(): Promise<Record<string, string>> {
  const env = localPrebuild();
  if (prebuildTar !== undefined && !existsSync(join(prebuildTar.dir, prebuildTar.name))) {
    await ok(
      'tar',
      ['-czf', join(prebuildTar.dir, prebuildTar.name), 'build/Release/better_sqlite3.node'],
      join(ROOT, 'node_modules/better-sqlite3'),
    );
  }
  return env;
}

describe('Fastify + SQLite app', () => {
  let app: Installed;
  beforeAll(async () => {
    app = await install(
      'fastify-sqlite',
      ['fastify-sqlite.mjs'],
      ['fastify', 'fastify-plugin', 'better-sqlite3'],
      {
        env: await sqliteEnv(),
      },
    );
    numbers['fastify-sqlite better-sqlite3'] =
      prebuildTar === undefined
        ? 'compiled from source'
        : "the checkout's binary as a local prebuild";
  }, 10 * MINUTES);

  it('installs notbefore, fastify, fastify-plugin and better-sqlite3 only', () => {
    expectOnly(app, ['fastify', 'fastify-plugin', 'better-sqlite3', 'pino']);
  });

  it(
    'round trip: signup → login → protected route → logout → 401',
    async () => {
      const server = await startApp(app.dir, ['fastify-sqlite.mjs'], {
        DB_FILE: join(app.dir, 'app.db'),
      });
      try {
        await roundTrip(server.url, '/private');
      } finally {
        await server.stop();
      }
    },
    MINUTES,
  );
});

describe('`notbefore serve` installed with the peers the README names', () => {
  let app: Installed;
  beforeAll(async () => {
    app = await install(
      'serve',
      [],
      ['fastify', 'fastify-plugin', 'pino', 'prom-client', 'better-sqlite3'],
      { env: await sqliteEnv() },
    );
  }, 10 * MINUTES);

  it(
    'serves the API and the demo page: signup → login → /auth/me → logout → 401',
    async () => {
      const server = await startApp(app.dir, [
        'node_modules/notbefore/dist/cli/main.js',
        'serve',
        '--port',
        '0',
        '--db',
        `sqlite:${join(app.dir, 'nb.db')}`,
      ]);
      try {
        await roundTrip(server.url, '/auth/me');
        const page = await fetch(`${server.url}/`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('<html');
        expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
      } finally {
        await server.stop();
      }
    },
    MINUTES,
  );
});

describe('Hono verify-only service (createVerifier + redisFeed)', () => {
  let app: Installed;
  const key = `notbefore-consumer-${process.pid}-${randomBytes(4).toString('hex')}`;
  const audience = 'orders';
  let auth: Auth;
  let jwks: Server;
  let jwksUrl: string;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    app = await install(
      'hono-verifier',
      ['hono-verifier.mjs'],
      ['hono', '@hono/node-server', 'ioredis'],
    );
    // The auth server: this checkout, publishing to the stream the service reads.
    const store = sqliteStore(':memory:');
    const feed = redisFeed(REDIS_URL, { key });
    auth = createAuth({
      store,
      feed,
      issuer: ISSUER,
      audience,
      password: { memoryCost: 1024, timeCost: 1, parallelism: 1, allowWeakHash: true },
    });
    await auth.ready();
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(auth.jwks()));
    });
    await new Promise<void>((done) => jwks.listen(0, '127.0.0.1', done));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    closers.push(
      () => auth.close(),
      () => feed.close(),
      () => store.close(),
      () => new Promise((done) => jwks.close(done)),
    );
  }, 5 * MINUTES);

  afterAll(async () => {
    for (const close of closers) await close().catch(() => {});
    const redis = new Redis(REDIS_URL);
    await redis.del(key);
    redis.disconnect();
  });

  it('installs notbefore, hono, @hono/node-server and ioredis only', () => {
    expectOnly(app, ['hono', '@hono/node-server', 'ioredis']);
    expect(findFiles(join(app.dir, 'node_modules'), 'config.gypi')).toEqual([]);
  });

  it(
    "round trip: the auth server's signup → login → the service's route → logout → 401",
    async () => {
      const server = await startApp(app.dir, ['hono-verifier.mjs'], {
        REDIS_URL,
        STREAM_KEY: key,
        JWKS_URL: jwksUrl,
        AUDIENCE: audience,
      });
      try {
        const email = `cy-${randomBytes(4).toString('hex')}@example.com`;
        await auth.signup({ email, password: PASSWORD });
        const { accessToken, session } = await auth.login({ email, password: PASSWORD });
        const allowed = await call(server.url, 'GET', '/private', accessToken);
        expect(allowed.status).toBe(200);
        await auth.logout(session.sid);
        // The revocation reaches the service through the Redis stream.
        const deadline = Date.now() + 5000;
        let refused = await call(server.url, 'GET', '/private', accessToken);
        while (refused.status === 200 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          refused = await call(server.url, 'GET', '/private', accessToken);
        }
        expect(refused.status).toBe(401);
        expect(refused.json()).toEqual({ error: { code: 'TOKEN_REVOKED' } });
      } finally {
        await server.stop();
      }
    },
    MINUTES,
  );
});

describe('a mailing app: notbefore/mail with nodemailer installed', () => {
  let app: Installed;
  let sink: SmtpSink;
  beforeAll(async () => {
    [app, sink] = await Promise.all([
      install('mail-smtp', ['mail-smtp.mjs'], ['nodemailer']),
      startSmtpSink(),
    ]);
  }, 5 * MINUTES);
  afterAll(async () => {
    await sink?.close();
  });

  it('installs notbefore and nodemailer only', () => {
    expectOnly(app, ['nodemailer']);
    expect(app.packages).toEqual(expect.arrayContaining(['notbefore', 'nodemailer']));
  });

  it(
    'smtpMailer delivers a rendered mail over SMTP (the peer loaded from the app)',
    async () => {
      const to = `ann-${randomBytes(4).toString('hex')}@example.com`;
      const ran = await run(process.execPath, ['mail-smtp.mjs'], app.dir, {
        ...userEnv(),
        SMTP_URL: sink.url,
        MAIL_TO: to,
      });
      expect(ran.err).toBe('');
      expect(ran).toMatchObject({ code: 0, out: 'done\n' });
      const mail = await sink.next((m) => m.to === to);
      expect(mail.fromAddress).toBe('no-reply@example.com');
      expect(mail.subject).toContain('App');
      expect(sink.linkIn(mail, 'reset-password')).toBe('AAAAAAAAAAAAAAAAAAAAAA');
    },
    MINUTES,
  );
});

describe('strict TypeScript apps (skipLibCheck: false)', () => {
  let app: Installed;
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');

  beforeAll(async () => {
    app = await install(
      'typed',
      ['typed/server.ts', 'typed/browser.ts'],
      [
        'express',
        'fastify',
        'fastify-plugin',
        'hono',
        'pg',
        'ioredis',
        'prom-client',
        '@types/node',
        '@types/express',
        '@types/pg',
        '@types/better-sqlite3',
      ],
      // Types only: nothing here runs, so no install script (better-sqlite3 is not even added).
      { ignoreScripts: true },
    );
    const config = (resolution: string, file: string, extra: Record<string, unknown>) => ({
      compilerOptions: {
        target: 'ES2022',
        module: resolution === 'NodeNext' ? 'NodeNext' : 'ESNext',
        moduleResolution: resolution,
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        ...extra,
      },
      files: [file],
    });
    for (const resolution of ['NodeNext', 'Bundler']) {
      writeFileSync(
        join(app.dir, `tsconfig.server.${resolution}.json`),
        JSON.stringify(config(resolution, 'server.ts', { types: ['node'] })),
      );
      // A browser app has neither @types/node nor Node's globals.
      writeFileSync(
        join(app.dir, `tsconfig.browser.${resolution}.json`),
        JSON.stringify(config(resolution, 'browser.ts', { types: [], lib: ['ES2022', 'DOM'] })),
      );
    }
  }, 5 * MINUTES);

  it("each subpath's types name no framework or driver but its own", () => {
    // So an app type-checks without the @types of peers it does not use.
    const own: Record<string, string[]> = {
      '.': [],
      './client': [],
      './testing': [],
      './sqlite': ['better-sqlite3'],
      './postgres': ['pg'],
      './redis': ['ioredis'],
      // smtpMailer's types are notbefore's own: an app type-checks without @types/nodemailer.
      './mail': [],
      './fastify': ['fastify'],
      './express': ['express'],
      './hono': ['hono'],
      './metrics': ['prom-client'],
    };
    const dist = join(app.dir, 'node_modules/notbefore');
    for (const [subpath, target] of Object.entries(PKG.exports)) {
      if (typeof target === 'string') continue;
      const allowed = new Set([...Object.keys(PKG.dependencies), ...(own[subpath] ?? [])]);
      const reached = [...packagesReached(join(dist, target.types), typeImports)];
      expect(
        reached.filter((p) => !allowed.has(p)),
        subpath,
      ).toEqual([]);
      for (const peer of own[subpath] ?? []) expect(reached, subpath).toContain(peer);
    }
  });

  for (const resolution of ['NodeNext', 'Bundler']) {
    it(
      `every server subpath type-checks with ${resolution} resolution`,
      async () => {
        const ran = await run(
          process.execPath,
          [tsc, '-p', `tsconfig.server.${resolution}.json`],
          app.dir,
        );
        expect(ran.out + ran.err).toBe('');
        expect(ran.code).toBe(0);
      },
      2 * MINUTES,
    );

    it(
      `notbefore/client type-checks with ${resolution} resolution and no Node types`,
      async () => {
        const ran = await run(
          process.execPath,
          [tsc, '-p', `tsconfig.browser.${resolution}.json`],
          app.dir,
        );
        expect(ran.out + ran.err).toBe('');
        expect(ran.code).toBe(0);
      },
      MINUTES,
    );
  }
});
