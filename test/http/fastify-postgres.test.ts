import { randomBytes } from 'node:crypto';
import { postgresStore } from '../../src/stores/postgres.js';
import { describeRoutes } from './routes.js';
import { makeFastify } from './servers.js';

const url = process.env.NOTBEFORE_TEST_PG_URL as string;

// The same suite once more on PostgreSQL, so nothing in the HTTP layer leans on SQLite.
describeRoutes('fastify on postgres', makeFastify, () =>
  postgresStore(url, { schema: `http_${randomBytes(6).toString('hex')}`, max: 2 }),
);
