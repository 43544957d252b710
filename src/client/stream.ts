/**
 * The `/auth/events` stream. The cookie authenticates it (no token in the URL). The browser
 * reconnects by itself after a dropped connection; when the server refuses the stream (an
 * expired or revoked access token: the EventSource closes for good) we ask the owner to prove
 * the session (which refreshes if it can) and open a new one, backing off up to 30 s.
 */

export interface StreamHandlers {
  onEvent(type: string, data: unknown): void;
  /** Resolves true when the session is still good and the stream should reopen. */
  recover(): Promise<boolean>;
  /**
   * The stream is open. An event sent while it was connecting is lost, so the owner checks
   * the session once now.
   */
  opened(): void;
}

export const STREAM_EVENTS = ['session-revoked', 'credential-change', 'token-claims-change'];

export interface Stream {
  open(): void;
  close(): void;
}

export function createStream(url: string, handlers: StreamHandlers): Stream {
  let source: EventSource | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let backoff = 1_000;
  let wanted = false;

  const parse = (raw: string): unknown => {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  };

  const reconnectLater = () => {
    clearTimeout(retry);
    retry = setTimeout(async () => {
      if (!wanted) return;
      let ok = false;
      try {
        ok = await handlers.recover();
      } catch {
        ok = true; // Offline or a 5xx: keep trying.
      }
      if (!wanted) return; // the session ended meanwhile
      if (ok) open();
      else reconnectLater();
    }, backoff);
    backoff = Math.min(backoff * 2, 30_000);
  };

  const onOnline = () => {
    if (wanted && (!source || source.readyState === 2)) {
      backoff = 1_000;
      reconnectLater();
    }
  };

  function open() {
    wanted = true;
    // The same function is registered once however often we open.
    if (typeof addEventListener === 'function') addEventListener('online', onOnline);
    if (typeof EventSource === 'undefined') return;
    source?.close();
    clearTimeout(retry);
    const es = new EventSource(url, { withCredentials: true });
    source = es;
    es.onopen = () => {
      backoff = 1_000;
      handlers.opened();
    };
    es.onerror = () => {
      // readyState 2 (CLOSED): the server answered with an error, the browser gives up.
      if (source === es && es.readyState === 2) reconnectLater();
    };
    for (const type of STREAM_EVENTS) {
      es.addEventListener(type, (e) =>
        handlers.onEvent(type, parse((e as MessageEvent<string>).data)),
      );
    }
  }

  return {
    open,
    close() {
      wanted = false;
      clearTimeout(retry);
      source?.close();
      source = null;
      if (typeof removeEventListener === 'function') removeEventListener('online', onOnline);
    },
  };
}
