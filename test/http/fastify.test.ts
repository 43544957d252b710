import { describeRoutes } from './routes.js';
import { makeFastify } from './servers.js';

describeRoutes('fastify', makeFastify);
