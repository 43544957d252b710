import { parseOptions } from '@node-rs/argon2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/sessions/auth.js';
import { COMMON_PASSWORDS } from '../../src/sessions/common-passwords.js';
import { assertPasswordInput, normaliseEmail } from '../../src/sessions/passwords.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import {
  CHEAP_HASH,
  email,
  type Harness,
  harness,
  PASSWORD,
  rejectsWith,
  signedUp,
  sqliteFactory,
} from './helpers.js';

describe('passwords and sign-in (V6)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(sqliteFactory, { issuer: 'https://auth.acme-widgets.test' });
  });
  afterEach(async () => {
    await h.close();
  });

  const signup = (password: string, address = email()) =>
    h.auth.signup({ email: address, password });

  it('6.2.1 seven characters are too few; eight ASCII or eight emoji are enough', async () => {
    await rejectsWith(signup('seven77'), 'WEAK_PASSWORD');
    await signup('eight888');
    await signup('🦊🐙🦉🐝🦋🐢🦀🐳');
    await rejectsWith(signup('🦊🐙🦉🐝🦋🐢🦀'), 'WEAK_PASSWORD');
  });

  it('6.2.4 a common password is refused at signup and at change', async () => {
    await rejectsWith(signup('password123'), 'WEAK_PASSWORD');
    await rejectsWith(signup('Iloveyou1'), 'WEAK_PASSWORD');
    const s = await signedUp(h.auth);
    await rejectsWith(h.auth.changePassword(s.user.id, PASSWORD, 'qwertyuiop'), 'WEAK_PASSWORD');
  });

  it('6.2.4 the list holds at least the 3,000 most common of 8+ characters: deep entries are refused too', async () => {
    expect(COMMON_PASSWORDS.size).toBeGreaterThanOrEqual(3000);
    for (const password of [...COMMON_PASSWORDS]) expect([...password].length).toBeGreaterThan(7);
    // Ranks 1,000, 3,000 and 5,000 among those of 8+ characters, typed with capitals.
    for (const password of ['Blackbir', '13101988', '20011980'])
      await rejectsWith(signup(password), 'WEAK_PASSWORD');
  });

  it('6.1.2 6.2.11 context words (product, issuer host, email name) are refused on both paths', async () => {
    await rejectsWith(signup('my notbefore login'), 'WEAK_PASSWORD');
    await rejectsWith(signup('i work at acme-widgets'), 'WEAK_PASSWORD');
    await rejectsWith(signup('hello margaret 2026', 'margaret@example.test'), 'WEAK_PASSWORD');
    const s = await signedUp(h.auth);
    await rejectsWith(
      h.auth.changePassword(s.user.id, PASSWORD, 'NotBefore rocks!!'),
      'WEAK_PASSWORD',
    );
    const custom = await h.another({ bannedPasswordWords: ['zebra'] });
    await rejectsWith(
      custom.signup({ email: email(), password: 'striped zebra 99' }),
      'WEAK_PASSWORD',
    );
  });

  it('6.2.5 no composition rules: a lowercase passphrase and Unicode are accepted', async () => {
    await signup('just some lowercase words');
    await signup('пароль для теста');
    await signup('  spaces around  ');
  });

  it('6.2.8 the password is verified exactly as entered', async () => {
    const long = 'x'.repeat(99);
    const address = email();
    await signup(`${long}A tail`, address);
    for (const wrong of [`${long}a tail`, `${long}A tail `, `${long}B tail`]) {
      await rejectsWith(h.auth.login({ email: address, password: wrong }), 'INVALID_CREDENTIALS');
    }
    await h.auth.login({ email: address, password: `${long}A tail` });
  });

  it('6.2.8 a password with a lone surrogate is refused (it would equal every other one in UTF-8)', async () => {
    const rules = h.auth.options.password;
    // Both halves become U+FFFD in UTF-8, so before this check either opened the other's account.
    for (const lone of ['\uD800', '\uDBFF', '\uDC00', `${PASSWORD}\uD800`, `\uDFFF${PASSWORD}`]) {
      expect(() => assertPasswordInput(lone, rules)).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
    }
    expect(() => assertPasswordInput(`${PASSWORD} 🦊`, rules)).not.toThrow();
    expect(() => assertPasswordInput('\uD83E\uDD8A'.repeat(8), rules)).not.toThrow();
    await rejectsWith(signup(`${PASSWORD} \uD800`), 'VALIDATION_FAILED');
    const s = await signedUp(h.auth);
    await rejectsWith(
      h.auth.login({ email: s.email, password: `${PASSWORD}\uDBFF` }),
      'VALIDATION_FAILED',
    );
    await rejectsWith(
      h.auth.changePassword(s.user.id, PASSWORD, `${PASSWORD}\uDBFF`),
      'VALIDATION_FAILED',
    );
    await rejectsWith(
      h.auth.changePassword(s.user.id, `${PASSWORD}\uD800`, 'my next passphrase'),
      'VALIDATION_FAILED',
    );
    await h.auth.login({ email: s.email, password: PASSWORD });
  });

  it('6.2.9 64 and 256 characters are accepted; over the maximum fails before any hash', async () => {
    await signup('a'.repeat(63) + 'b');
    await signup('c'.repeat(255) + 'd');
    const max = h.auth.options.password.maxLength;
    const started = performance.now();
    await rejectsWith(signup('e'.repeat(max + 1)), 'VALIDATION_FAILED');
    await rejectsWith(
      h.auth.login({ email: email(), password: 'f'.repeat(1_000_000) }),
      'VALIDATION_FAILED',
    );
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('6.2.2 users change their own password: the new one works, the old one does not', async () => {
    const s = await signedUp(h.auth);
    await h.auth.changePassword(s.user.id, PASSWORD, 'my next passphrase');
    await rejectsWith(h.auth.login({ email: s.email, password: PASSWORD }), 'INVALID_CREDENTIALS');
    await h.auth.login({ email: s.email, password: 'my next passphrase' });
  });

  it('6.2.3 a change needs the current password; wrong ones count toward the throttle', async () => {
    const s = await signedUp(h.auth);
    const other = await h.auth.login({ email: s.email, password: PASSWORD });
    await rejectsWith(
      h.auth.changePassword(s.user.id, 'not my password', 'my next passphrase'),
      'INVALID_CREDENTIALS',
    );
    expect(h.auth.verify(other.accessToken).sub).toBe(s.user.id);
    let code = '';
    for (let i = 0; i < 20 && code !== 'RATE_LIMITED'; i++) {
      h.clock.advance(100);
      code = await h.auth.changePassword(s.user.id, 'not my password', 'my next passphrase').then(
        () => 'ok',
        (e: { code: string }) => e.code,
      );
    }
    expect(code).toBe('RATE_LIMITED');
  });

  it('6.2.10 no forced rotation: two years later the password still works', async () => {
    const s = await signedUp(h.auth);
    h.clock.advance(2 * 365 * 86_400_000);
    await h.auth.login({ email: s.email, password: PASSWORD });
  });

  it('6.2.12 a breached password is refused; a failing breach check accepts it', async () => {
    const breached = await h.another({ isBreached: async (p) => p === 'in a breach list' });
    await rejectsWith(
      breached.signup({ email: email(), password: 'in a breach list' }),
      'WEAK_PASSWORD',
    );
    await breached.signup({ email: email(), password: 'not in any list' });
    const failing = await h.another({
      isBreached: async () => {
        throw new Error('range API down');
      },
    });
    await failing.signup({ email: email(), password: 'not in any list' });
  });

  it('6.3.1 failures for one account across two instances and rotating addresses hit 429 at the one-instance count', async () => {
    const s = await signedUp(h.auth);
    const b = await h.another();
    const instances = [h.auth, b];
    const { free, max } = h.auth.options.throttle.account;
    const codes: string[] = [];
    for (let i = 0; i < max + 1; i++) {
      // Wait out each growing delay, so only the hard limit can answer 429.
      h.clock.advance(1000 * 2 ** Math.max(0, i - free));
      codes.push(
        await instances[i % 2]!.login({
          email: s.email,
          password: 'wrong password!',
          clientKey: `10.0.0.${i}`,
        }).then(
          () => 'ok',
          (e: { code: string }) => e.code,
        ),
      );
    }
    expect(codes.slice(0, max)).toEqual(Array(max).fill('INVALID_CREDENTIALS'));
    expect(codes[max]).toBe('RATE_LIMITED');
    const limited = await h.auth
      .login({ email: s.email, password: PASSWORD })
      .catch((e: unknown) => e);
    expect(limited).toMatchObject({ code: 'RATE_LIMITED' });
    const retryAfter = (limited as { retryAfter: number }).retryAfter;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(h.auth.options.throttle.windowSeconds);
    // Not blocked longer than the window: after retryAfter the right password works.
    h.clock.advance(retryAfter * 1000);
    await h.auth.login({ email: s.email, password: PASSWORD });
  });

  it('6.3.1 after the free failures each attempt waits a growing delay', async () => {
    const s = await signedUp(h.auth);
    const { free } = h.auth.options.throttle.account;
    for (let i = 0; i < free; i++) {
      await rejectsWith(
        h.auth.login({ email: s.email, password: 'wrong password!' }),
        'INVALID_CREDENTIALS',
      );
    }
    const early = await h.auth
      .login({ email: s.email, password: PASSWORD })
      .catch((e: unknown) => e);
    expect(early).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1 });
    h.clock.advance(1000);
    await h.auth.login({ email: s.email, password: PASSWORD });
  });

  it('6.3.1 one client key guessing many accounts is throttled too', async () => {
    const { max } = h.auth.options.throttle.client;
    let code = '';
    for (let i = 0; i < max + 5 && code !== 'RATE_LIMITED'; i++) {
      h.clock.advance(30_000);
      code = await h.auth
        .login({
          email: `victim${i}@example.test`,
          password: 'guess guess',
          clientKey: '203.0.113.9',
        })
        .then(
          () => 'ok',
          (e: { code: string }) => e.code,
        );
    }
    expect(code).toBe('RATE_LIMITED');
  });

  it('6.3.2 a fresh service has no accounts at all', async () => {
    for (const [user, password] of [
      ['admin@localhost', 'admin'],
      ['root@localhost', 'rootroot'],
      ['admin@example.test', 'password'],
    ] as const) {
      await rejectsWith(h.auth.login({ email: user, password }), 'INVALID_CREDENTIALS');
    }
  });

  it('6.3.8 unknown email and wrong password: the same error, and both cost one hash', async () => {
    const s = await signedUp(h.auth);
    const unknown = await h.auth
      .login({ email: email(), password: 'some password' })
      .catch((e: unknown) => e);
    const wrong = await h.auth
      .login({ email: s.email, password: 'some password' })
      .catch((e: unknown) => e);
    expect(JSON.stringify(unknown)).toBe(JSON.stringify(wrong));
    expect(unknown).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401 });
    // Timing: with a hash heavy enough to dominate, the medians stay close.
    const timed = await h.another({
      password: { memoryCost: 4096, timeCost: 2, allowWeakHash: true },
      throttle: { account: { free: 1000, max: 1000 }, client: { free: 1000, max: 1000 } },
    });
    const t = await signedUp(timed);
    // Interleaved samples, so a burst of load from elsewhere hits both sides alike.
    const samples = { known: [] as number[], missing: [] as number[] };
    for (let i = 0; i < 15; i++) {
      for (const [side, address] of [
        ['known', t.email],
        ['missing', email()],
      ] as const) {
        const start = performance.now();
        await timed.login({ email: address, password: 'wrong password' }).catch(() => {});
        samples[side].push(performance.now() - start);
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const ratio = median(samples.missing) / median(samples.known);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it('11.4.2 the stored hash is argon2id at or above the floor; weaker options throw', async () => {
    expect(() =>
      createAuth({ store: sqliteStore(':memory:'), password: { memoryCost: 4096 } }),
    ).toThrow(TypeError);
    const store = sqliteStore(':memory:');
    const strong = createAuth({ store, clock: h.clock });
    const s = await strong.signup({ email: email(), password: PASSWORD });
    const stored = parseOptions((await store.getUser(s.id))!.passwordHash);
    expect(stored.algorithm).toBe(2);
    expect(stored.memoryCost).toBeGreaterThanOrEqual(19_456);
    expect(stored.timeCost).toBeGreaterThanOrEqual(2);
    expect(stored.parallelism).toBeGreaterThanOrEqual(1);
    await strong.close();
    await store.close();
  });

  it('11.2.2 raising the cost rehashes at the next successful login', async () => {
    const s = await signedUp(h.auth);
    const before = parseOptions((await h.store.getUser(s.user.id))!.passwordHash);
    expect(before).toMatchObject({ algorithm: 2, memoryCost: CHEAP_HASH.memoryCost });
    const stronger = await h.another({ password: { ...CHEAP_HASH, memoryCost: 1024 } });
    await stronger.login({ email: s.email, password: PASSWORD });
    const after = parseOptions((await h.store.getUser(s.user.id))!.passwordHash);
    expect(after.memoryCost).toBe(1024);
    await h.auth.login({ email: s.email, password: PASSWORD });
  });

  it('emails are trimmed, NFC-normalised, lower-cased and validated', () => {
    expect(normaliseEmail('  José@Example.TEST ')).toBe('josé@example.test');
    expect(normaliseEmail('Jose\u0301@x.test')).toBe('josé@x.test');
    for (const bad of [
      '',
      'no-at-sign',
      'a@',
      '@b',
      'a b@c.d',
      `${'a'.repeat(250)}@b.cd`,
      'ann\uD800@example.test',
      'ann@example.test\uDFFF',
      42,
      null,
    ]) {
      expect(() => normaliseEmail(bad)).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
    }
  });
});
