/**
 * One refresh at a time across every tab of the origin. Web Locks where the browser has them;
 * otherwise a lease in localStorage (write, wait, read back: the last writer wins), which is
 * good enough for the few old browsers without `navigator.locks`.
 */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  if (locks) return locks.request(name, fn);
  return withLease(name, fn);
}

async function withLease<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const store = storage();
  if (!store) return fn();
  const key = `${name}:lease`;
  const me = Math.random().toString(36).slice(2);
  const holder = () => {
    try {
      return JSON.parse(store.getItem(key) ?? 'null') as { id: string; until: number } | null;
    } catch {
      return null;
    }
  };
  for (;;) {
    const cur = holder();
    if (!cur || cur.until < Date.now()) {
      // A lease outlives a crashed tab by at most 15 s.
      store.setItem(key, JSON.stringify({ id: me, until: Date.now() + 15_000 }));
      await sleep(100);
      if (holder()?.id === me) break;
    }
    await sleep(50 + Math.random() * 100);
  }
  try {
    return await fn();
  } finally {
    if (holder()?.id === me) store.removeItem(key);
  }
}

export function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    // Access throws when the user blocked site data.
    return null;
  }
}
