import { describeAuthFlows } from './flows.js';
import { postgresFactory } from './helpers.js';

describeAuthFlows('postgres', postgresFactory());
