import { describeFactorFlows } from './factor-flows.js';
import { describeAuthFlows } from './flows.js';
import { sqliteFactory } from './helpers.js';
import { describeLifecycle } from './lifecycle.js';
import { describeRaceHoles } from './races.js';

const factory = sqliteFactory;
describeAuthFlows('sqlite', factory);
describeRaceHoles('sqlite', factory);
describeLifecycle('sqlite', factory);
describeFactorFlows('sqlite', factory);
