import { randomBytes } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { AuthContext } from './context.js';
import type { CredentialChecks } from './credentials.js';
import { issueLink, linkInvalid, presentedLinkHash } from './links.js';
import { assertPasswordInput, normaliseEmail } from './passwords.js';
import { openSession } from './sign-in.js';
import type { Auth } from './types.js';
import {
  assertObject,
  assertRoles,
  MAX_CLIENT_KEY_LENGTH,
  MAX_DEVICE_LENGTH,
  optionalText,
} from './validate.js';

/**
 * Accounts made by invitation (ASVS 6.3.2: an administrator grants roles to an address, and
 * only whoever reads its mail can claim them), instead of granting roles to whoever signs up
 * first with an address.
 */
export function invitationOperations(
  ctx: AuthContext,
  credentials: CredentialChecks,
): Pick<Auth, 'invite' | 'acceptInvitation'> {
  return {
    async invite(input) {
      assertObject(input, 'invitation');
      const email = normaliseEmail(input.email);
      const roles = input.roles ?? [];
      assertRoles(roles);
      await ctx.ready();
      if ((await ctx.store().findUserByEmail(email)) !== null)
        throw new AuthError('EMAIL_TAKEN', 'This email is already registered.');
      const link = await issueLink(ctx, {
        kind: 'invitation',
        userId: null,
        email,
        roles: [...new Set(roles)],
      });
      ctx.mail('invitation', email, { link: link.url, expiresAt: link.expiresAt });
      return { id: link.id, link: link.url, expiresAt: link.expiresAt };
    },

    async acceptInvitation(token, password, context) {
      const tokenHash = presentedLinkHash(token);
      assertPasswordInput(password, ctx.resolved.password);
      if (context !== undefined) assertObject(context, 'context');
      const device = optionalText(context?.device, 'device', MAX_DEVICE_LENGTH);
      const clientKey = optionalText(context?.clientKey, 'clientKey', MAX_CLIENT_KEY_LENGTH);
      await ctx.ready();
      const store = ctx.store();
      const nowMs = ctx.clock.now();
      // Read before hashing: a guessed token costs no hash. The store checks it again when
      // it consumes it, so of two acceptances racing exactly one creates the account.
      const invitation = await store.findLink('invitation', tokenHash, nowMs);
      if (invitation === null) throw linkInvalid();
      const passwordHash = await credentials.checkNewPassword(password, invitation.email);
      const result = await store.acceptInvitation({
        tokenHash,
        nowMs: ctx.clock.now(),
        user: {
          id: randomBytes(16).toString('base64url'),
          email: invitation.email,
          passwordHash,
          roles: invitation.roles,
          createdAt: ctx.clock.now(),
          // The link came to this address: opening it proves the mailbox.
          emailVerified: true,
        },
      });
      if (!result.ok) {
        if (result.reason === 'email-taken')
          throw new AuthError('EMAIL_TAKEN', 'This email is already registered.');
        throw linkInvalid();
      }
      return openSession(ctx, result.user, { device, clientKey, passwordHash });
    },
  };
}
