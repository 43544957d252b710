import { describeRoutes } from './routes.js';
import { makeHono } from './servers.js';

describeRoutes('hono', makeHono);
