import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { failure, type HttpContext } from '../../src/http/core.js';

describe('a database outage at the HTTP layer', () => {
  it('is a 503 STORE_UNAVAILABLE with Retry-After and a generic message; the operator hears the server', () => {
    const heard: unknown[] = [];
    const ctx = {
      options: { onError: (error: unknown) => heard.push(error) },
    } as unknown as HttpContext;
    const outage = new StoreUnavailableError(
      'postgresStore: cannot reach PostgreSQL at db.internal:5432',
    );
    const answer = failure(ctx, outage);
    expect(answer.status).toBe(503);
    expect(answer.headers?.['retry-after']).toBe('1');
    const body = JSON.stringify(answer.body);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
    expect(body).not.toContain('db.internal');
    expect(heard).toEqual([outage]);
  });

  it('any other unexpected error is still a bare 500', () => {
    const answer = failure(undefined, new Error('bug'));
    expect(answer.status).toBe(500);
  });
});
