import { describeRoutes } from './routes.js';
import { makeExpress } from './servers.js';

describeRoutes('express', makeExpress);
