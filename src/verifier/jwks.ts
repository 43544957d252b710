import type { JwkSet } from '../tokens/types.js';

export interface JwksSourceOptions {
  jwks: string | URL | JwkSet;
  /** Least time between two fetches asked for by an unknown kid (ms). */
  cooldownMs: number;
  /** Periodic refetch (ms), so keys the auth servers dropped stop verifying here too. */
  refreshMs: number;
  fetch: typeof fetch;
  now: () => number;
  /** Takes a key set into use; throws when it is not a usable public JWKS. */
  install: (jwks: JwkSet) => void;
  onError: (error: unknown) => void;
}

export interface JwksSource {
  /** First load; a URL is retried until it answers (the caller bounds the wait). */
  load(): Promise<void>;
  /** An unknown kid was seen: refetch, at most once per cooldown, in the background. */
  refresh(): void;
  close(): void;
}

const FETCH_TIMEOUT_MS = 5000;
const MAX_JWKS_BYTES = 1 << 20;
const RETRY_MS = 500;

/** The public keys of a verify-only service: a JWKS object, or a URL fetched now and then. */
export function jwksSource(options: JwksSourceOptions): JwksSource {
  const { jwks } = options;
  if (typeof jwks !== 'string' && !(jwks instanceof URL)) {
    return {
      load: async () => options.install(jwks),
      refresh: () => {},
      close: () => {},
    };
  }
  const url = new URL(jwks);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('createVerifier: the JWKS URL must be http(s)');
  }
  let lastFetch = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const fetchOnce = (): Promise<void> => {
    lastFetch = options.now();
    inFlight ??= (async () => {
      try {
        const response = await options.fetch(url, {
          headers: { accept: 'application/json' },
          redirect: 'error',
          signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        });
        if (!response.ok) throw new Error(`JWKS fetch failed with HTTP ${response.status}`);
        const text = await response.text();
        if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS response too large');
        const body: unknown = JSON.parse(text);
        if (typeof body !== 'object' || body === null || !Array.isArray((body as JwkSet).keys)) {
          throw new Error('JWKS response has no keys array');
        }
        if (!closed) options.install(body as JwkSet);
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => {
      fetchOnce().catch(options.onError).finally(schedule);
    }, options.refreshMs);
    timer.unref();
  };

  return {
    async load() {
      for (;;) {
        try {
          await fetchOnce();
          break;
        } catch (error) {
          if (closed) throw error;
          options.onError(error);
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
      schedule();
    },
    refresh() {
      if (closed || inFlight !== undefined) return;
      if (options.now() - lastFetch < options.cooldownMs) return;
      fetchOnce().catch(options.onError);
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
