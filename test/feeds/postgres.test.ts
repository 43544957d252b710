import { describeFeed } from '../../src/feeds/conformance.js';
import { postgresHarness } from './postgres-harness.js';

const url = process.env.NOTBEFORE_TEST_PG_URL;
if (url === undefined) throw new Error('NOTBEFORE_TEST_PG_URL is set by test/global-setup.ts');

describeFeed('postgresFeed', async () => postgresHarness(url));
