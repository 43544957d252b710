import { describeFactorFlows } from './factor-flows.js';
import { describeAuthFlows } from './flows.js';
import { postgresFactory } from './helpers.js';
import { describeLifecycle } from './lifecycle.js';
import { describeRaceHoles } from './races.js';

const factory = postgresFactory();
describeAuthFlows('postgres', factory);
describeRaceHoles('postgres', factory);
describeLifecycle('postgres', factory);
describeFactorFlows('postgres', factory);
