import { describeAuthFlows } from './flows.js';
import { sqliteFactory } from './helpers.js';

describeAuthFlows('sqlite', sqliteFactory);
