import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { smtpMailer } from '../../src/mail/index.js';
import type { Mail, Mailer } from '../../src/mail/types.js';
import type { RevocationEvent } from '../../src/revocation/events.js';
import { LINK_THROTTLE } from '../../src/sessions/links.js';
import type { Auth } from '../../src/sessions/types.js';
import type { LinkKind } from '../../src/stores/port.js';
import { type SmtpSink, startSmtpSink } from '../mail/smtp-sink.js';
import {
  email,
  type Harness,
  harness,
  PASSWORD,
  rejectsWith,
  type StoreFactory,
  signedUp,
  throwsWith,
} from './helpers.js';

export const PUBLIC_URL = 'https://app.example.test';
const NEW_PASSWORD = 'a brand new passphrase';
const MIN = 60_000;
const HOUR = 60 * MIN;

/** A mailer that also records what it was handed, at once: absence is then checkable. */
export function tapped(inner: Mailer): { mailer: Mailer; sent: Mail[] } {
  const sent: Mail[] = [];
  return {
    sent,
    mailer: {
      send(mail) {
        sent.push(mail);
        return inner.send(mail);
      },
      close: () => inner.close?.() ?? Promise.resolve(),
    },
  };
}

/** The median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** What `interleavedMedians` measured (ms). */
export interface Timing {
  a: number;
  b: number;
  /** The median of the differences a − b of neighbouring calls. */
  diff: number;
}

/**
 * Medians of `rounds` calls of each, interleaved (a b, b a, a b, …) so that drift and GC fall
 * on both alike; and the median of the paired differences, which cancels load that comes and
 * goes (other test files run on the same machine). `settle`, awaited untimed after each call,
 * lets background work a call started (a mail being delivered) finish first, so that it is
 * charged to nobody: what is compared is each call's own path.
 */
export async function interleavedMedians(
  rounds: number,
  a: (i: number) => Promise<unknown>,
  b: (i: number) => Promise<unknown>,
  settle: () => Promise<void> = async () => {},
): Promise<Timing> {
  const times = { a: [] as number[], b: [] as number[] };
  const timed = async (run: () => Promise<unknown>, into: number[]) => {
    const t0 = performance.now();
    await run();
    into.push(performance.now() - t0);
    await settle();
  };
  for (let i = 0; i < rounds; i += 1) {
    if (i % 2 === 0) {
      await timed(() => a(i), times.a);
      await timed(() => b(i), times.b);
    } else {
      await timed(() => b(i), times.b);
      await timed(() => a(i), times.a);
    }
  }
  return {
    a: median(times.a),
    b: median(times.b),
    diff: median(times.a.map((t, i) => t - times.b[i]!)),
  };
}

/**
 * No timing side channel: the paired difference within 25 % of the typical call, or within
 * `floorMs`, whichever is larger. A real difference shows in every measurement, while load
 * from other processes seldom spoils three in a row: up to three measurements are taken,
 * each with fresh inputs (`attempt` numbers them), and one within the margin passes.
 */
export async function expectTimingAlike(
  label: string,
  measure: (attempt: number) => Promise<Timing>,
  floorMs = 3,
): Promise<void> {
  const seen: Timing[] = [];
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const m = await measure(attempt);
    seen.push(m);
    console.log(
      `[${label}] medians ${m.a.toFixed(2)} / ${m.b.toFixed(2)} ms, paired difference ${m.diff.toFixed(2)} ms`,
    );
    if (Math.abs(m.diff) <= Math.max(0.25 * Math.min(m.a, m.b), floorMs)) return;
  }
  expect.fail(`${label}: the two paths differ in every measurement: ${JSON.stringify(seen)}`);
}

/** Polls until `check` holds (mail leaves through a queue, a few at a time). */
export async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Waits until every mail handed to the mailer since the mark has reached the sink, after a
 * pause in which mail queued by the last call is handed over (the queue hands over on the
 * next turn of the event loop).
 */
export async function settled(
  sink: SmtpSink,
  sent: readonly Mail[],
  deliveredAtMark: number,
  sentAtMark: number,
): Promise<void> {
  await new Promise((r) => setTimeout(r, 5));
  await eventually(
    () => sink.mails.length - deliveredAtMark >= sent.length - sentAtMark,
    'delivery',
  );
}

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Issue 12 on one store kind, through the library, with mail going over real SMTP to a sink:
 * each flow from the mailed link to its effect, and the security rows (reuse, expiry,
 * supersession, cross-purpose use, concurrent redemption, enumeration, throttling, a mail
 * server that is down or slow).
 */
export function describeLifecycle(name: string, makeStore: StoreFactory): void {
  describe(`account lifecycle on ${name}`, () => {
    let sink: SmtpSink;
    let h: Harness;
    let sent: Mail[];
    const errors: unknown[] = [];

    beforeAll(async () => {
      sink = await startSmtpSink();
    });
    afterAll(async () => {
      await sink.close();
    });
    beforeEach(async () => {
      errors.length = 0;
      const tap = tapped(smtpMailer(sink.url, { from: 'Auth <auth@example.test>' }));
      sent = tap.sent;
      h = await harness(makeStore, {
        mailer: tap.mailer,
        publicUrl: PUBLIC_URL,
        productName: 'Acme',
        onError: (e) => errors.push(e),
      });
    });
    afterEach(async () => {
      await h.close();
    });

    /** The token of the next `kind` link mailed to `to`, read from the mail the sink got. */
    const linkFor = async (to: string, kind: LinkKind): Promise<string> => {
      const mail = await sink.next((m) => m.to === to && m.text.includes(`#${kind}=`));
      expect(sink.urlIn(mail, kind).startsWith(`${PUBLIC_URL}/#${kind}=`)).toBe(true);
      expect(mail.subject).toContain('Acme');
      expect(mail.html).toContain(`#${kind}=`);
      return sink.linkIn(mail, kind);
    };
    /** The next mail to `to` whose subject matches. */
    const noticeTo = (to: string, subject: RegExp) =>
      sink.next((m) => m.to === to && subject.test(m.subject));
    const sentTo = (to: string) => sent.filter((m) => m.to === to);
    /** Waits until `to` was handed `n` mails (then absence elsewhere means something). */
    const handed = (to: string, n: number) =>
      eventually(() => sentTo(to).length >= n, `${n} mails to ${to}`).then(() =>
        expect(sentTo(to)).toHaveLength(n),
      );

    describe('flows, from the mailed link to the effect', () => {
      it('verification: the link proves the address; tokens re-issue with email_verified', async () => {
        const s = await signedUp(h.auth);
        expect(s.user.emailVerified).toBe(false);
        expect(h.auth.verify(s.accessToken).email_verified).toBe(false);
        const events: RevocationEvent[] = [];
        h.auth.onRevocation((e) => events.push(e));
        await h.auth.requestEmailVerification(s.user.id);
        await h.auth.verifyEmail(await linkFor(s.email, 'verify-email'));
        expect(events).toEqual([
          expect.objectContaining({ kind: 'user', scope: 'tokens', cause: 'email-verified' }),
        ]);
        // Reason claims: the session lives, and a refresh carries the new claim.
        throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'claims');
        const r = await h.auth.refresh(s.refreshToken);
        expect(h.auth.verify(r.accessToken).email_verified).toBe(true);
        expect((await h.auth.getUser(s.user.id))?.emailVerified).toBe(true);
        // Verified already: nothing more is mailed.
        const before = sent.length;
        await h.auth.requestEmailVerification(s.user.id);
        expect(sent.length).toBe(before);
      });

      it('6.4.x reset: every session ends, the old password dies, the link dies, a notice goes out', async () => {
        const s = await signedUp(h.auth);
        const other = await h.auth.login({ email: s.email, password: PASSWORD, device: 'phone' });
        await h.auth.forgotPassword(s.email);
        const token = await linkFor(s.email, 'reset-password');
        const events: RevocationEvent[] = [];
        h.auth.onRevocation((e) => events.push(e));
        await h.auth.resetPassword(token, NEW_PASSWORD);
        expect(events).toEqual([
          expect.objectContaining({ kind: 'user', scope: 'sessions', cause: 'password' }),
        ]);
        for (const session of [s, other]) {
          throwsWith(() => h.auth.verify(session.accessToken), 'TOKEN_REVOKED', 'user');
          await rejectsWith(h.auth.refresh(session.refreshToken), 'REFRESH_TOKEN_INVALID');
        }
        expect(await h.auth.listSessions(s.user.id)).toEqual([]);
        await rejectsWith(
          h.auth.login({ email: s.email, password: PASSWORD }),
          'INVALID_CREDENTIALS',
        );
        const signedIn = await h.auth.login({ email: s.email, password: NEW_PASSWORD });
        // Opening the mailed link proved the address.
        expect(signedIn.user.emailVerified).toBe(true);
        expect(signedIn.claims.email_verified).toBe(true);
        await rejectsWith(h.auth.resetPassword(token, 'yet another passphrase'), 'LINK_INVALID');
        const notice = await noticeTo(s.email, /password was reset/);
        expect(notice.text).toMatch(/not you/i);
        expect(notice.text).not.toContain(token);
      });

      it('6.3.7 a password change is told by mail', async () => {
        const s = await signedUp(h.auth);
        await h.auth.changePassword(s.user.id, PASSWORD, NEW_PASSWORD);
        const notice = await noticeTo(s.email, /password was changed/);
        expect(notice.html).toContain('Acme');
      });

      it('email change: link to the new address, notice to the old; confirming switches and ends the other sessions', async () => {
        const s = await signedUp(h.auth);
        const other = await h.auth.login({ email: s.email, password: PASSWORD, device: 'phone' });
        const next = email();
        await rejectsWith(
          h.auth.requestEmailChange(s.user.id, next, 'not the password at all'),
          'INVALID_CREDENTIALS',
        );
        await h.auth.requestEmailChange(s.user.id, next.toUpperCase(), PASSWORD);
        const requested = await noticeTo(s.email, /new email address was requested/);
        expect(requested.text).toContain(next);
        const token = await linkFor(next, 'confirm-email');
        // Nothing changed yet.
        expect((await h.auth.getUser(s.user.id))?.email).toBe(s.email);
        const kept = await h.auth.confirmEmailChange(token, { sid: s.session.sid });
        expect(kept?.session.sid).toBe(s.session.sid);
        expect(kept?.user).toMatchObject({ email: next, emailVerified: true });
        expect(h.auth.verify(kept!.accessToken).email_verified).toBe(true);
        // The confirming session lives on with fresh tokens; its old ones and the others die.
        throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'user');
        throwsWith(() => h.auth.verify(other.accessToken), 'TOKEN_REVOKED', 'user');
        await rejectsWith(h.auth.refresh(other.refreshToken), 'REFRESH_TOKEN_INVALID');
        await rejectsWith(h.auth.refresh(s.refreshToken), 'REFRESH_TOKEN_INVALID');
        expect((await h.auth.refresh(kept!.refreshToken)).session.sid).toBe(s.session.sid);
        // The old address can no longer sign in; the new one can.
        await rejectsWith(
          h.auth.login({ email: s.email, password: PASSWORD }),
          'INVALID_CREDENTIALS',
        );
        await h.auth.login({ email: next, password: PASSWORD });
        const changed = await noticeTo(s.email, /email address was changed/);
        expect(changed.text).toContain(next);
        await rejectsWith(h.auth.confirmEmailChange(token), 'LINK_INVALID');
      });

      it('email change confirmed signed out (or from another user) ends every session', async () => {
        const s = await signedUp(h.auth);
        const stranger = await signedUp(h.auth);
        const next = email();
        await h.auth.requestEmailChange(s.user.id, next, PASSWORD);
        const token = await linkFor(next, 'confirm-email');
        expect(await h.auth.confirmEmailChange(token, { sid: stranger.session.sid })).toBeNull();
        throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'user');
        expect(h.auth.verify(stranger.accessToken).sub).toBe(stranger.user.id);
      });

      it('email change to a taken address: the same answer, no link mailed, and it could never confirm', async () => {
        const s = await signedUp(h.auth);
        const owner = await signedUp(h.auth);
        await rejectsWith(
          h.auth.requestEmailChange(s.user.id, s.email, PASSWORD),
          'VALIDATION_FAILED',
        );
        await expect(
          h.auth.requestEmailChange(s.user.id, owner.email, PASSWORD),
        ).resolves.toBeUndefined();
        expect(sentTo(owner.email)).toEqual([]);
        // The old address is told all the same.
        await noticeTo(s.email, /new email address was requested/);
      });

      it('6.3.2 invitation: the link creates the account with its roles, verified, signed in', async () => {
        const address = email();
        const invitation = await h.auth.invite({ email: address, roles: ['editor', 'editor'] });
        expect(invitation.link.startsWith(`${PUBLIC_URL}/#invitation=`)).toBe(true);
        const token = await linkFor(address, 'invitation');
        expect(invitation.link).toBe(`${PUBLIC_URL}/#invitation=${token}`);
        const s = await h.auth.acceptInvitation(token, PASSWORD, { device: 'laptop' });
        expect(s.user).toMatchObject({ email: address, roles: ['editor'], emailVerified: true });
        expect(h.auth.verify(s.accessToken)).toMatchObject({
          roles: ['editor'],
          email_verified: true,
        });
        await rejectsWith(h.auth.acceptInvitation(token, PASSWORD), 'LINK_INVALID');
        await rejectsWith(h.auth.invite({ email: address }), 'EMAIL_TAKEN');
        await rejectsWith(
          h.auth.invite({ email: email(), roles: ['no spaces'] }),
          'VALIDATION_FAILED',
        );
      });

      it('an invitation whose address signed up meanwhile is spent: EMAIL_TAKEN, then LINK_INVALID', async () => {
        const address = email();
        const { link } = await h.auth.invite({ email: address, roles: ['admin'] });
        const token = link.split('#invitation=')[1]!;
        await h.auth.signup({ email: address, password: PASSWORD });
        await rejectsWith(h.auth.acceptInvitation(token, NEW_PASSWORD), 'EMAIL_TAKEN');
        await rejectsWith(h.auth.acceptInvitation(token, NEW_PASSWORD), 'LINK_INVALID');
        const s = await h.auth.login({ email: address, password: PASSWORD });
        expect(s.user.roles).toEqual([]);
      });

      it('a weak password leaves a reset or invitation link usable', async () => {
        const s = await signedUp(h.auth);
        await h.auth.forgotPassword(s.email);
        const reset = await linkFor(s.email, 'reset-password');
        await rejectsWith(h.auth.resetPassword(reset, 'short'), 'WEAK_PASSWORD');
        await h.auth.resetPassword(reset, NEW_PASSWORD);
        const { link } = await h.auth.invite({ email: email() });
        const invitation = link.split('#invitation=')[1]!;
        await rejectsWith(h.auth.acceptInvitation(invitation, 'password'), 'WEAK_PASSWORD');
        await h.auth.acceptInvitation(invitation, PASSWORD);
      });

      it('6.3.8 requireVerifiedEmail: sign-in needs the verified address, refused only after a correct password', async () => {
        const strict = await h.another({ requireVerifiedEmail: true });
        const address = email();
        const user = await strict.signup({ email: address, password: PASSWORD });
        expect(user.emailVerified).toBe(false);
        const first = await linkFor(address, 'verify-email');
        await rejectsWith(
          strict.login({ email: address, password: 'not the password at all' }),
          'INVALID_CREDENTIALS',
        );
        await handed(address, 1);
        await rejectsWith(
          strict.login({ email: address, password: PASSWORD }),
          'EMAIL_NOT_VERIFIED',
        );
        // A fresh link with the refusal, superseding the first.
        const fresh = await linkFor(address, 'verify-email');
        await rejectsWith(strict.verifyEmail(first), 'LINK_INVALID');
        await strict.verifyEmail(fresh);
        const s = await strict.login({ email: address, password: PASSWORD });
        expect(s.claims.email_verified).toBe(true);
      });

      it('6.3.8 requireVerifiedEmail: signup to a taken address mails its owner, and creates nothing', async () => {
        const strict = await h.another({ requireVerifiedEmail: true });
        const owner = await signedUp(h.auth);
        await rejectsWith(
          strict.signup({ email: owner.email, password: 'an attacker passphrase' }),
          'EMAIL_TAKEN',
        );
        const attempt = await noticeTo(owner.email, /tried to sign up/);
        expect(attempt.text).not.toMatch(/#verify-email=/);
        await rejectsWith(
          h.auth.login({ email: owner.email, password: 'an attacker passphrase' }),
          'INVALID_CREDENTIALS',
        );
      });
    });

    describe('link tokens', () => {
      /** A live link of every kind, for a user signed up here. */
      const oneOfEach = async () => {
        const s = await signedUp(h.auth);
        await h.auth.requestEmailVerification(s.user.id);
        await h.auth.forgotPassword(s.email);
        const next = email();
        await h.auth.requestEmailChange(s.user.id, next, PASSWORD);
        const invited = email();
        await h.auth.invite({ email: invited, roles: ['editor'] });
        return {
          s,
          next,
          invited,
          tokens: {
            'verify-email': await linkFor(s.email, 'verify-email'),
            'reset-password': await linkFor(s.email, 'reset-password'),
            'confirm-email': await linkFor(next, 'confirm-email'),
            invitation: await linkFor(invited, 'invitation'),
          } satisfies Record<LinkKind, string>,
        };
      };
      const redeem: Record<LinkKind, (auth: Auth, token: string) => Promise<unknown>> = {
        'verify-email': (auth, token) => auth.verifyEmail(token),
        'reset-password': (auth, token) => auth.resetPassword(token, NEW_PASSWORD),
        'confirm-email': (auth, token) => auth.confirmEmailChange(token),
        invitation: (auth, token) => auth.acceptInvitation(token, PASSWORD),
      };
      const KINDS = Object.keys(redeem) as LinkKind[];

      it('are 256-bit random, stored only as SHA-256, and travel in the fragment', async () => {
        const { tokens } = await oneOfEach();
        for (const kind of KINDS) {
          const token = tokens[kind];
          expect(Buffer.from(token, 'base64url')).toHaveLength(32);
          const stored = await h.store.findLink(kind, sha256(token), h.clock.now());
          expect(stored, kind).not.toBeNull();
          expect(JSON.stringify(stored)).not.toContain(token);
          expect(await h.store.findLink(kind, token, h.clock.now())).toBeNull();
        }
        for (const mail of sent) expect(mail.text).not.toMatch(/[?&]token=/);
      });

      it('LINK_INVALID: each kind is single use', async () => {
        const { tokens } = await oneOfEach();
        for (const kind of KINDS) {
          await redeem[kind](h.auth, tokens[kind]);
          await rejectsWith(redeem[kind](h.auth, tokens[kind]), 'LINK_INVALID');
        }
      });

      it('LINK_INVALID: each kind used for another purpose, which leaves it usable for its own', async () => {
        const { tokens } = await oneOfEach();
        for (const kind of KINDS) {
          for (const other of KINDS) {
            if (other !== kind)
              await rejectsWith(redeem[other](h.auth, tokens[kind]), 'LINK_INVALID');
          }
        }
        for (const kind of KINDS) await redeem[kind](h.auth, tokens[kind]);
      });

      it('LINK_INVALID: each kind expires (reset 30 min, confirmation 24 h, invitation 7 days, verification 24 h)', async () => {
        const lifetimes: Record<LinkKind, number> = {
          'reset-password': 30 * MIN,
          'confirm-email': 24 * HOUR,
          'verify-email': 24 * HOUR,
          invitation: 7 * 24 * HOUR,
        };
        for (const kind of KINDS) {
          // One link used just before its end, one just at it.
          const early = await oneOfEach();
          const late = await oneOfEach();
          h.clock.advance(lifetimes[kind] - 1);
          await redeem[kind](h.auth, early.tokens[kind]);
          h.clock.advance(1);
          await rejectsWith(redeem[kind](h.auth, late.tokens[kind]), 'LINK_INVALID');
          // Past the per-address limits before the next round.
          h.clock.advance(LINK_THROTTLE.windowMs);
        }
      });

      it('LINK_INVALID: a newer link of a kind supersedes the older one', async () => {
        const first = await oneOfEach();
        const s = first.s;
        await h.auth.requestEmailVerification(s.user.id);
        // The address's fourth link request this hour: past its free ones, it waits a second.
        h.clock.advance(1_000);
        await h.auth.forgotPassword(s.email);
        await h.auth.requestEmailChange(s.user.id, first.next, PASSWORD);
        await h.auth.invite({ email: first.invited, roles: ['editor'] });
        const second: Record<LinkKind, string> = {
          'verify-email': await linkFor(s.email, 'verify-email'),
          'reset-password': await linkFor(s.email, 'reset-password'),
          'confirm-email': await linkFor(first.next, 'confirm-email'),
          invitation: await linkFor(first.invited, 'invitation'),
        };
        for (const kind of KINDS) {
          await rejectsWith(redeem[kind](h.auth, first.tokens[kind]), 'LINK_INVALID');
          await redeem[kind](h.auth, second[kind]);
        }
      });

      it('LINK_INVALID for anything not ours; VALIDATION_FAILED for what is not a string', async () => {
        for (const kind of KINDS) {
          for (const token of ['', 'x', 'A'.repeat(43), `${'A'.repeat(42)}!`, 'a'.repeat(10_000)])
            await rejectsWith(redeem[kind](h.auth, token), 'LINK_INVALID');
          await rejectsWith(redeem[kind](h.auth, 42 as unknown as string), 'VALIDATION_FAILED');
        }
      });

      it('a link to an address the account has left proves nothing', async () => {
        const s = await signedUp(h.auth);
        await h.auth.requestEmailVerification(s.user.id);
        await h.auth.forgotPassword(s.email);
        const verify = await linkFor(s.email, 'verify-email');
        const reset = await linkFor(s.email, 'reset-password');
        const next = email();
        await h.auth.requestEmailChange(s.user.id, next, PASSWORD);
        await h.auth.confirmEmailChange(await linkFor(next, 'confirm-email'));
        await rejectsWith(h.auth.verifyEmail(verify), 'LINK_INVALID');
        await rejectsWith(h.auth.resetPassword(reset, NEW_PASSWORD), 'LINK_INVALID');
      });

      it('concurrent redemptions of one link: exactly one succeeds, every kind', async () => {
        const { tokens, s } = await oneOfEach();
        for (const kind of KINDS) {
          const results = await Promise.allSettled(
            Array.from({ length: 6 }, () => redeem[kind](h.auth, tokens[kind])),
          );
          const won = results.filter((r) => r.status === 'fulfilled');
          expect(won, kind).toHaveLength(1);
          for (const r of results)
            if (r.status === 'rejected')
              expect(r.reason, kind).toMatchObject({ code: 'LINK_INVALID' });
        }
        // The reset really happened once: its password works.
        const next = (await h.auth.getUser(s.user.id))?.email as string;
        await h.auth.login({ email: next, password: NEW_PASSWORD });
      });

      it('concurrent redemptions across two instances: exactly one succeeds', async () => {
        const other = await h.another();
        const s = await signedUp(h.auth);
        await h.auth.forgotPassword(s.email);
        const token = await linkFor(s.email, 'reset-password');
        const results = await Promise.allSettled([
          h.auth.resetPassword(token, NEW_PASSWORD),
          other.resetPassword(token, 'another new passphrase'),
          h.auth.resetPassword(token, 'a third new passphrase'),
          other.resetPassword(token, 'a fourth new passphrase'),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      });
    });

    describe('enumeration and throttling', () => {
      it('6.3.8 forgot-password: the same answer and the same timing for known and unknown addresses', async () => {
        const known: string[] = [];
        for (let i = 0; i < 30; i += 1) known.push((await signedUp(h.auth)).email);
        // Warm both paths (JIT, statement caches) before measuring.
        await h.auth.forgotPassword(email());
        const warm = (await signedUp(h.auth)).email;
        await h.auth.forgotPassword(warm);
        await linkFor(warm, 'reset-password');
        const delivered = sink.mails.length;
        const handedOver = sent.length;
        const answers: unknown[] = [];
        const unknown: string[] = [];
        let rounds = 0;
        await expectTimingAlike(`lifecycle:${name} forgotPassword known/unknown`, (attempt) => {
          rounds = attempt + 1;
          const fresh = Array.from({ length: 30 }, () => email());
          unknown.push(...fresh);
          return interleavedMedians(
            30,
            async (i) => answers.push(await h.auth.forgotPassword(known[i]!)),
            async (i) => answers.push(await h.auth.forgotPassword(fresh[i]!)),
            // The sink runs in this process: its parsing must not land on the next call.
            () => settled(sink, sent, delivered, handedOver),
          );
        });
        expect(new Set(answers)).toEqual(new Set([undefined]));
        for (const address of known) await handed(address, rounds);
        for (const address of unknown) expect(sentTo(address), address).toEqual([]);
      });

      it('link requests are limited per address; a throttled forgot-password answers alike for known and unknown', async () => {
        const s = await signedUp(h.auth);
        const unknown = email();
        const { free, max } = LINK_THROTTLE.address;
        for (let i = 0; i < max + 3; i += 1) {
          await expect(h.auth.forgotPassword(s.email)).resolves.toBeUndefined();
          await expect(h.auth.forgotPassword(unknown)).resolves.toBeUndefined();
        }
        // The first `free` got through at once; the rest wait (doubling) and then are shut out.
        await handed(s.email, free);
        h.clock.advance(1_000);
        await h.auth.forgotPassword(s.email);
        await handed(s.email, free + 1);
        h.clock.advance(LINK_THROTTLE.windowMs);
        await h.auth.forgotPassword(s.email);
        await handed(s.email, free + 2);
        expect(sentTo(unknown)).toEqual([]);
        // A signed-in user asking for a verification link is told of the limit.
        for (let i = 1; i < free; i += 1) await h.auth.requestEmailVerification(s.user.id);
        await rejectsWith(h.auth.requestEmailVerification(s.user.id), 'RATE_LIMITED');
      });

      it('link requests are limited per client: RATE_LIMITED with a retry time, for any address', async () => {
        const { free } = LINK_THROTTLE.client;
        const context = { clientKey: '203.0.113.9' };
        for (let i = 0; i < free; i += 1) await h.auth.forgotPassword(email(), context);
        const refused = h.auth.forgotPassword(email(), context);
        await expect(refused).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1 });
        // Another client is not affected, and the limit lifts with time.
        await h.auth.forgotPassword(email(), { clientKey: '203.0.113.10' });
        h.clock.advance(1_000);
        await h.auth.forgotPassword(email(), context);
      });
    });

    describe('a mail server that is down or slow', () => {
      it('a refusing server: the request answers at once, the mail is retried and delivered, the state holds', async () => {
        const s = await signedUp(h.auth);
        sink.failNext(1);
        const t0 = performance.now();
        await h.auth.changePassword(s.user.id, PASSWORD, NEW_PASSWORD);
        expect(performance.now() - t0).toBeLessThan(1000);
        // First attempt refused (told to onError), the retry goes through.
        await noticeTo(s.email, /password was changed/);
        expect(errors.map(String)).toContainEqual(
          expect.stringMatching(/password was changed.* attempt 1 failed; will retry/),
        );
        await h.auth.login({ email: s.email, password: NEW_PASSWORD });
      }, 20_000);

      it('a slow server: requests do not wait for it', async () => {
        sink.delayMs = 3_000;
        try {
          const s = await signedUp(h.auth);
          const t0 = performance.now();
          await h.auth.forgotPassword(s.email);
          await h.auth.forgotPassword(email());
          expect(performance.now() - t0).toBeLessThan(1000);
          await linkFor(s.email, 'reset-password');
        } finally {
          sink.delayMs = 0;
        }
      }, 20_000);

      it('no server at all: link requests still answer, and onError hears of each failure', async () => {
        const local: unknown[] = [];
        const dead = await h.another({
          // Nothing listens on port 9 (discard) here: the connection is refused.
          mailer: smtpMailer('smtp://127.0.0.1:9', { from: 'auth@example.test' }),
          onError: (e) => local.push(e),
        });
        const s = await signedUp(dead);
        const t0 = performance.now();
        await dead.forgotPassword(s.email);
        await dead.requestEmailVerification(s.user.id);
        await dead.changePassword(s.user.id, PASSWORD, NEW_PASSWORD);
        expect(performance.now() - t0).toBeLessThan(1000);
        const deadline = Date.now() + 5_000;
        while (local.length < 3 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        expect(local.length).toBeGreaterThanOrEqual(3);
        await dead.login({ email: s.email, password: NEW_PASSWORD });
      }, 20_000);
    });
  });
}
