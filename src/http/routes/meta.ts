import type { HttpContext } from '../core.js';
import { buildOpenApi } from '../openapi.js';
import { json } from '../response.js';
import * as S from '../schemas.js';
import type { RouteDef } from './types.js';

function readyWithin(ctx: HttpContext, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    ctx.auth.ready().then(
      () => resolve(true),
      () => resolve(false),
    );
    timer.unref?.();
  });
}

/**
 * What other services and operators read: public keys, readiness, and the OpenAPI
 * document of `all` (the whole table, this route included; read on each request, so the
 * table may be built after this).
 */
export function metaRoutes(all: () => readonly RouteDef[]): RouteDef[] {
  return [
    {
      method: 'GET',
      path: '/.well-known/jwks.json',
      summary: 'Public keys',
      access: 'none',
      responses: { 200: ['JWKS.', S.jwksSchema] },
      // Until the instance has loaded its keys.
      errors: ['REVOCATION_STATE_STALE'],
      async handle(ctx) {
        return json(200, ctx.auth.jwks(), {
          'cache-control': 'public, max-age=300',
          'access-control-allow-origin': '*',
          'cross-origin-resource-policy': 'cross-origin',
        });
      },
    },
    {
      method: 'GET',
      path: '/healthz',
      summary: 'Ready and current: 200, else 503',
      access: 'none',
      responses: { 200: ['Ready.', S.healthSchema], 503: ['Not ready.', S.healthSchema] },
      errors: [],
      async handle(ctx) {
        const ok = await (ctx.options.health ?? (() => readyWithin(ctx, 2000)))();
        return json(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable' });
      },
    },
    {
      method: 'GET',
      path: '/openapi.json',
      summary: 'This document',
      access: 'none',
      responses: { 200: ['OpenAPI 3.1.'] },
      errors: [],
      async handle() {
        return json(200, buildOpenApi(all()), { 'cache-control': 'public, max-age=300' });
      },
    },
  ];
}
