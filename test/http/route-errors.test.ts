/**
 * Each route declares the error codes it can answer; the OpenAPI document derives its
 * error statuses from them through the one code table, and an answer with an undeclared
 * code is reported. The route suite (routes.ts) and the fuzz test fail on such a report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ERROR_STATUS } from '../../src/errors.js';
import { createContext, type HttpContext } from '../../src/http/core.js';
import { buildOpenApi } from '../../src/http/openapi.js';
import type { HttpRequest } from '../../src/http/request.js';
import {
  openStream,
  ROUTES,
  type RouteDef,
  runRoute,
  UndeclaredErrorCode,
} from '../../src/http/routes/index.js';
import type { Auth } from '../../src/sessions/types.js';
import { makeAuth } from './harness.js';

const label = (route: RouteDef) => `${route.method} ${route.path}`;

describe('declared error codes', () => {
  it('every code a route declares is in ERROR_STATUS, once', () => {
    for (const route of ROUTES) {
      for (const code of route.errors) expect(Object.hasOwn(ERROR_STATUS, code), code).toBe(true);
      expect(new Set(route.errors).size, label(route)).toBe(route.errors.length);
    }
  });

  it('the routes declare what the contract promises of them', () => {
    const errorsOf = (method: string, path: string) =>
      ROUTES.find((r) => r.method === method && r.path === path)?.errors;
    expect(errorsOf('POST', '/auth/login')).toEqual(
      expect.arrayContaining(['INVALID_CREDENTIALS', 'RATE_LIMITED', 'ACCOUNT_DISABLED']),
    );
    expect(errorsOf('POST', '/auth/signup')).toEqual(
      expect.arrayContaining(['EMAIL_TAKEN', 'WEAK_PASSWORD', 'RATE_LIMITED', 'CSRF_FAILED']),
    );
    expect(errorsOf('POST', '/auth/refresh')).toEqual(
      expect.arrayContaining(['REFRESH_TOKEN_INVALID', 'REFRESH_TOKEN_REUSED', 'SESSION_EXPIRED']),
    );
    expect(errorsOf('DELETE', '/auth/sessions/:sid')).toEqual(
      expect.arrayContaining(['REAUTHENTICATION_REQUIRED', 'NOT_FOUND', 'CSRF_FAILED']),
    );
    for (const route of ROUTES.filter((r) => r.access === 'admin'))
      expect(route.errors, label(route)).toContain('FORBIDDEN');
    for (const route of ROUTES.filter((r) => r.access !== 'none'))
      expect(route.errors, label(route)).toEqual(
        expect.arrayContaining(['TOKEN_MISSING', 'TOKEN_EXPIRED', 'TOKEN_REVOKED']),
      );
  });

  it('the OpenAPI document lists, per route, exactly its success statuses and those of its codes', () => {
    const doc = buildOpenApi(ROUTES) as {
      paths: Record<string, Record<string, { responses: Record<string, Answer> }>>;
    };
    type Answer = {
      description: string;
      content?: Record<string, { schema?: { properties?: Record<string, Schema> } }>;
    };
    type Schema = { properties?: Record<string, { enum?: string[] }> };
    for (const route of ROUTES) {
      const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
      const responses = doc.paths[path]?.[route.method.toLowerCase()]?.responses ?? {};
      const byStatus = new Map<number, string[]>();
      for (const code of route.errors) {
        const status = ERROR_STATUS[code];
        byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
      }
      const expected = new Set([
        ...Object.keys(route.responses),
        ...[...byStatus.keys()].map(String),
      ]);
      expect(new Set(Object.keys(responses)), label(route)).toEqual(expected);
      for (const [status, codes] of byStatus) {
        if (String(status) in route.responses) continue; // the route documents it itself
        const answer = responses[String(status)] as Answer;
        const error = answer.content?.['application/json']?.schema?.properties?.error;
        expect(error?.properties?.code?.enum?.sort(), `${label(route)} ${status}`).toEqual(
          [...codes].sort(),
        );
        for (const code of codes) expect(answer.description).toContain(code);
      }
    }
  });
});

describe('an undeclared code is reported, and answered all the same', () => {
  let auth: Auth;
  let close: () => Promise<void>;
  let ctx: HttpContext;
  const reported: unknown[] = [];
  beforeAll(async () => {
    ({ auth, close } = await makeAuth());
    ctx = createContext({ auth, onError: (error) => reported.push(error) });
  });
  afterAll(async () => {
    ctx.hub.close();
    await close();
  });

  const request: HttpRequest = {
    method: 'GET',
    path: '/test',
    params: {},
    headers: {},
    body: undefined,
    remoteAddress: '192.0.2.1',
  };
  const route = (errors: RouteDef['errors'], thrown: unknown): RouteDef => ({
    method: 'GET',
    path: '/test',
    summary: 'test',
    access: 'none',
    responses: { 200: ['ok'] },
    errors,
    async handle() {
      throw thrown;
    },
  });

  it('by runRoute', async () => {
    reported.length = 0;
    const res = await runRoute(
      ctx,
      route(['VALIDATION_FAILED'], new AuthError('EMAIL_TAKEN', 'x')),
      request,
    );
    expect(res.status).toBe(409);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(UndeclaredErrorCode);
    expect(reported[0]).toMatchObject({ route: 'GET /test', code: 'EMAIL_TAKEN' });

    reported.length = 0;
    await runRoute(ctx, route(['EMAIL_TAKEN'], new AuthError('EMAIL_TAKEN', 'x')), request);
    expect(reported).toEqual([]);

    // A crash is a 500 reported as itself, not as an undeclared code.
    const boom = new Error('boom');
    expect((await runRoute(ctx, route([], boom), request)).status).toBe(500);
    expect(reported).toEqual([boom]);
  });

  it('by openStream, for a stream refused before it opens', () => {
    const events = ROUTES.find((r) => r.stream === true) as RouteDef;
    reported.length = 0;
    const refused = openStream(ctx, events, request);
    expect('status' in refused && refused.status).toBe(401);
    expect(reported).toEqual([]);
    openStream(ctx, { ...events, errors: ['TOKEN_EXPIRED'] }, request);
    expect(reported).toEqual([expect.objectContaining({ code: 'TOKEN_MISSING' })]);
  });
});

describe('the OpenAPI document', () => {
  it('names the package version', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const { buildOpenApi } = await import('../../src/http/openapi.js');
    const { ROUTES } = await import('../../src/http/routes/index.js');
    expect((buildOpenApi(ROUTES) as { info: { version: string } }).info.version).toBe(pkg.version);
  });
});
