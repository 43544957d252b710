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
  /** Where the keys come from, for messages: the URL without credentials or query. */
  readonly where: string;
  /**
   * First load. A URL that fails in a way another try may fix (refused, timed out, 5xx) is
   * tried a few more times with backoff, never past `deadline` (Date.now() ms); it rejects
   * with the first failure as soon as another try is pointless (404, not JSON, no usable
   * key) or the tries are spent.
   */
  load(deadline: number): Promise<void>;
  /** The latest failure of a load still trying, for a timeout's message. */
  lastFailure(): Error | undefined;
  /** An unknown kid was seen: refetch, at most once per cooldown, in the background. */
  refresh(): void;
  close(): void;
}

const FETCH_TIMEOUT_MS = 5000;
const MAX_JWKS_BYTES = 1 << 20;
/** Tries of a first load, and the wait before the second (doubling after). */
const LOAD_ATTEMPTS = 5;
const FIRST_BACKOFF_MS = 100;

/** A failed fetch of the JWKS; `retry` says whether another try could go differently. */
class JwksFailure extends Error {
  readonly retry: boolean;
  constructor(where: string, why: string, retry: boolean, cause?: unknown) {
    super(
      `createVerifier: cannot load the JWKS from ${where}: ${why}`,
      cause === undefined ? undefined : { cause },
    );
    this.retry = retry;
  }
}

/** What a failed fetch() says: undici hides the socket's reason in `cause`. */
function networkReason(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown; cause?: { message?: unknown } };
  if (e?.name === 'TimeoutError') return `no answer within ${FETCH_TIMEOUT_MS / 1000} s`;
  if (typeof e?.cause?.message === 'string') return e.cause.message;
  return typeof e?.message === 'string' ? e.message : String(error);
}

/** The public keys of a verify-only service: a JWKS object, or a URL fetched now and then. */
export function jwksSource(options: JwksSourceOptions): JwksSource {
  const { jwks } = options;
  if (typeof jwks !== 'string' && !(jwks instanceof URL)) {
    return {
      where: 'the JWKS given',
      load: async () => options.install(jwks),
      lastFailure: () => undefined,
      refresh: () => {},
      close: () => {},
    };
  }
  const url = new URL(jwks);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('createVerifier: the JWKS URL must be http(s)');
  }
  const where = `${url.origin}${url.pathname}`;
  let lastFetch = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  let loading: Promise<void> | undefined;
  let loaded = false;
  let latest: Error | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const fetchOnce = (): Promise<void> => {
    lastFetch = options.now();
    inFlight ??= (async () => {
      try {
        let response: Response;
        try {
          response = await options.fetch(url, {
            headers: { accept: 'application/json' },
            redirect: 'error',
            signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
          });
        } catch (error) {
          throw new JwksFailure(where, networkReason(error), true, error);
        }
        if (!response.ok) {
          // A 404 or 401 stays so; a 5xx, 408 or 429 may not.
          const status = response.status;
          const retry = status >= 500 || status === 408 || status === 429;
          throw new JwksFailure(where, `HTTP ${status} ${response.statusText}`.trim(), retry);
        }
        const text = await response.text();
        if (text.length > MAX_JWKS_BYTES)
          throw new JwksFailure(where, 'the answer is larger than 1 MiB', false);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch (error) {
          const type = response.headers.get('content-type') ?? 'no content-type';
          throw new JwksFailure(where, `the answer is not JSON (${type})`, false, error);
        }
        if (typeof body !== 'object' || body === null || !Array.isArray((body as JwkSet).keys))
          throw new JwksFailure(where, 'the answer is JSON without a "keys" array', false);
        if (closed) return;
        try {
          options.install(body as JwkSet);
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          throw new JwksFailure(where, `no usable key in it (${why})`, false, error);
        }
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

  const firstLoad = async (deadline: number): Promise<void> => {
    let first: JwksFailure | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        await fetchOnce();
        latest = undefined;
        loaded = true;
        schedule();
        return;
      } catch (error) {
        const failure =
          error instanceof JwksFailure ? error : new JwksFailure(where, String(error), true, error);
        first ??= failure;
        latest = failure;
        options.onError(failure);
        const wait = FIRST_BACKOFF_MS * 2 ** (attempt - 1);
        if (closed || !failure.retry || attempt >= LOAD_ATTEMPTS || Date.now() + wait >= deadline)
          // A failure no retry can fix is the answer; else the first one, which later ones
          // tend to repeat.
          throw failure.retry ? first : failure;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };

  return {
    where,
    load(deadline) {
      if (loaded) return Promise.resolve();
      loading ??= firstLoad(deadline).finally(() => {
        loading = undefined;
      });
      return loading;
    },
    lastFailure: () => latest,
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
