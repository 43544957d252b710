import { describeFeed } from '../../src/feeds/conformance.js';
import { memoryFeed } from '../../src/feeds/memory.js';

describeFeed('memoryFeed', async () => {
  // One process, one feed: every "instance" of an in-process deployment shares it.
  const feed = memoryFeed();
  return { instance: () => feed, durable: false, teardown: async () => {} };
});
