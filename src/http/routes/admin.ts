import { AuthError } from '../../errors.js';
import { type Authenticated, authenticate, type HttpContext, parseBody } from '../core.js';
import type { RequestView } from '../request.js';
import { json, noContent } from '../response.js';
import * as S from '../schemas.js';
import { withCleared } from './answers.js';
import { codes, type RouteDef, SIGNED_IN_UNSAFE } from './types.js';

async function requireAdmin(ctx: HttpContext, req: RequestView): Promise<Authenticated> {
  const a = authenticate(ctx, req);
  if (!a.claims.roles.includes('admin')) throw new AuthError('FORBIDDEN', 'Role admin required.');
  return a;
}

async function targetUser(ctx: HttpContext, req: RequestView): Promise<string> {
  const id = req.params.id ?? '';
  if ((await ctx.auth.getUser(id)) === null) throw new AuthError('NOT_FOUND', 'No such user.');
  return id;
}

/** An administrator's request (every admin route is a POST or PUT), with a body to check. */
const ADMIN = codes(SIGNED_IN_UNSAFE, 'FORBIDDEN', 'VALIDATION_FAILED');

/** What the role `admin` may do to other users, and to everyone. */
export const ADMIN_ROUTES: readonly RouteDef[] = [
  {
    method: 'PUT',
    path: '/admin/users/:id/roles',
    summary: "Replace a user's roles (admin); their access tokens are revoked, sessions live",
    access: 'admin',
    body: S.rolesBody,
    params: { id: S.userIdParam },
    responses: { 200: ['The user.', S.userSchema] },
    errors: codes(ADMIN, 'NOT_FOUND'),
    async handle(ctx, req) {
      await requireAdmin(ctx, req);
      const body = parseBody(ctx, req, S.rolesBody);
      const user = await ctx.auth.setRoles(await targetUser(ctx, req), body.roles as string[]);
      return json(200, { user });
    },
  },
  ...(['disable', 'enable', 'logout-all'] as const).map(
    (action): RouteDef => ({
      method: 'POST',
      path: `/admin/users/:id/${action}`,
      summary: `${action} a user (admin)`,
      access: 'admin',
      params: { id: S.userIdParam },
      responses: { 204: ['Done.'] },
      errors: codes(ADMIN, 'NOT_FOUND'),
      async handle(ctx, req) {
        await requireAdmin(ctx, req);
        parseBody(ctx, req, S.emptyBody);
        const id = await targetUser(ctx, req);
        if (action === 'disable') await ctx.auth.disableUser(id);
        else if (action === 'enable') await ctx.auth.enableUser(id);
        else await ctx.auth.logoutAll(id);
        return noContent();
      },
    }),
  ),
  {
    method: 'POST',
    path: '/admin/revoke-everyone',
    summary: 'End every session of every user (admin)',
    access: 'admin',
    responses: { 204: ['Done.'] },
    errors: ADMIN,
    async handle(ctx, req) {
      const a = await requireAdmin(ctx, req);
      parseBody(ctx, req, S.emptyBody);
      await ctx.auth.revokeEveryone();
      return withCleared(noContent(), a.via === 'cookie');
    },
  },
];
