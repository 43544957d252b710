/**
 * `notbefore/testing`: the conformance suites every store and feed must pass, for authors
 * of other stores and feeds. They run under vitest (an optional peer dependency):
 *
 *   describeStore('my-store', () => myStore(...));
 *   describeFeed('my-feed', async () => ({ ... }));
 *
 * @module notbefore/testing
 */
export { describeFeed, type FeedHarness } from '../feeds/conformance.js';
export type * from '../feeds/port.js';
export { describeStore } from '../stores/conformance.js';
export type * from '../stores/port.js';
