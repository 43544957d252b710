import { type AuthErrorCode, ERROR_STATUS } from '../errors.js';
import type { RouteDef } from './routes/types.js';
import { errorBody } from './schemas.js';

const toOpenApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, '{$1}');

/**
 * The route's declared error codes grouped by the status each answers with, from the one
 * code table: a code added to a route, or moved to another status, changes the document.
 */
export function errorStatuses(route: RouteDef): Map<number, AuthErrorCode[]> {
  const byStatus = new Map<number, AuthErrorCode[]>();
  for (const code of route.errors) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
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
    for (const [status, codes] of errorStatuses(route)) {
      responses[String(status)] ??= {
        description: codes.map((code) => `\`${code}\``).join(', '),
        content: { 'application/json': { schema: errorBody(codes) } },
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
      version: '0.4.0',
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
