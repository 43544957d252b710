import { ERROR_STATUS } from '../errors.js';
import type { RouteDef } from './routes.js';
import { errorSchema } from './schemas.js';

const toOpenApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, '{$1}');

/** Error statuses a route can answer with, from the one code table. */
function errorStatuses(route: RouteDef): number[] {
  const statuses = new Set<number>([400, 503]);
  if (route.access !== 'none' || route.path === '/auth/login' || route.path === '/auth/refresh') {
    statuses.add(401);
  }
  if (route.method !== 'GET' || route.access === 'admin') statuses.add(403);
  if (route.path === '/auth/signup') statuses.add(ERROR_STATUS.EMAIL_TAKEN);
  if (route.path === '/auth/signup' || route.path === '/auth/login') {
    statuses.add(ERROR_STATUS.RATE_LIMITED);
  }
  if (route.params !== undefined) statuses.add(ERROR_STATUS.NOT_FOUND);
  return [...statuses].sort();
}

/** OpenAPI 3.1 from the route table and the same JSON schemas the routes validate with. */
export function buildOpenApi(routes: readonly RouteDef[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, [description, schema]] of Object.entries(route.responses)) {
      const type = route.stream === true ? 'text/event-stream' : 'application/json';
      responses[status] =
        schema === undefined && route.stream !== true
          ? { description }
          : { description, content: { [type]: schema === undefined ? {} : { schema } } };
    }
    for (const status of errorStatuses(route)) {
      responses[String(status)] ??= {
        description: 'Error; `error.code` is one of the documented codes.',
        content: { 'application/json': { schema: errorSchema } },
      };
    }
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: [
        route.path.startsWith('/admin')
          ? 'admin'
          : route.path.startsWith('/auth')
            ? 'auth'
            : 'meta',
      ],
      responses,
    };
    if (route.access !== 'none') operation.security = [{ bearer: [] }, { cookie: [] }];
    if (route.params !== undefined) {
      operation.parameters = Object.entries(route.params).map(([name, schema]) => ({
        name,
        in: 'path',
        required: true,
        schema,
      }));
    }
    if (route.body !== undefined) {
      operation.requestBody = {
        required: Array.isArray(route.body.required) && route.body.required.length > 0,
        content: { 'application/json': { schema: route.body } },
      };
    }
    const path = toOpenApiPath(route.path);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'notbefore',
      version: '0.1.0',
      description: 'Revocable stateless JWT sessions.',
    },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        cookie: { type: 'apiKey', in: 'cookie', name: '__Host-nb_access' },
      },
    },
  };
}
