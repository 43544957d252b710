import { describe, expect, it } from 'vitest';
import { memoryFeed } from '../../src/feeds/memory.js';
import type { RevocationFeed } from '../../src/feeds/port.js';
import { createAuth } from '../../src/sessions/auth.js';
import { CHEAP_HASH, PASSWORD, throwsWith } from './helpers.js';

describe('createAuth defaults and background failures', () => {
  it('without a store it opens the documented SQLite default instead of throwing', async () => {
    const auth = createAuth({ password: CHEAP_HASH });
    try {
      await auth.ready();
      await auth.signup({ email: 'default@example.test', password: PASSWORD });
      const s = await auth.login({ email: 'default@example.test', password: PASSWORD });
      expect(auth.verify(s.accessToken).sid).toBe(s.session.sid);
      await auth.logout(s.session.sid);
      throwsWith(() => auth.verify(s.accessToken), 'TOKEN_REVOKED', 'session');
    } finally {
      await auth.close();
    }
  });

  it('onError hears a feed that cannot publish; the revocation still holds here', async () => {
    const inner = memoryFeed();
    const failure = new Error('feed down');
    const feed: RevocationFeed = {
      ...inner,
      publish: async () => {
        throw failure;
      },
    };
    const errors: unknown[] = [];
    const auth = createAuth({ feed, password: CHEAP_HASH, onError: (e) => errors.push(e) });
    try {
      await auth.ready();
      await auth.signup({ email: 'errors@example.test', password: PASSWORD });
      const s = await auth.login({ email: 'errors@example.test', password: PASSWORD });
      await auth.logout(s.session.sid);
      expect(errors).toContain(failure);
      throwsWith(() => auth.verify(s.accessToken), 'TOKEN_REVOKED', 'session');
    } finally {
      await auth.close();
    }
  });

  it('a throwing onError does not break the instance', async () => {
    const feed: RevocationFeed = {
      ...memoryFeed(),
      publish: async () => {
        throw new Error('feed down');
      },
    };
    const auth = createAuth({
      feed,
      password: CHEAP_HASH,
      onError: () => {
        throw new Error('reporter down');
      },
    });
    try {
      await auth.ready();
      await auth.signup({ email: 'reporter@example.test', password: PASSWORD });
      const s = await auth.login({ email: 'reporter@example.test', password: PASSWORD });
      await auth.logout(s.session.sid);
      throwsWith(() => auth.verify(s.accessToken), 'TOKEN_REVOKED', 'session');
    } finally {
      await auth.close();
    }
  });
});
