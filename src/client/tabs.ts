import { storage } from './lock.js';
import type { ClientUser, RefreshCause, SignOutReason } from './types.js';

/** What one tab tells the others. Never a token: the page has none. */
export type TabMessage =
  | { t: 'in'; user: ClientUser; expiresAt: number | null; stamp: string }
  | { t: 'out'; reason: SignOutReason; stamp: string; detail?: string }
  | { t: 'ref'; expiresAt: number; stamp: string; cause: RefreshCause; user?: ClientUser };

/**
 * The state every tab must agree on before refreshing: when the current access token
 * expires and a stamp naming the sign-in or refresh that produced it.
 */
export interface SharedState {
  expiresAt: number | null;
  stamp: string;
}

/** A fresh stamp: names one sign-in or refresh for every tab. */
export const newStamp = (): string => Math.random().toString(36).slice(2) + Date.now().toString(36);

export interface Tabs {
  post(message: TabMessage): void;
  read(): SharedState | null;
  write(state: SharedState | null): void;
  close(): void;
}

/** BroadcastChannel when the browser has it; `storage` events otherwise. */
export function openTabs(name: string, onMessage: (message: TabMessage) => void): Tabs {
  const store = storage();
  const stateKey = `${name}:state`;
  const msgKey = `${name}:msg`;
  const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(name);
  const onStorage = (e: StorageEvent) => {
    if (e.key !== msgKey || !e.newValue) return;
    let message: TabMessage;
    try {
      message = (JSON.parse(e.newValue) as { m: TabMessage }).m;
    } catch {
      return; // not ours
    }
    onMessage(message);
  };
  if (channel) channel.onmessage = (e: MessageEvent<TabMessage>) => onMessage(e.data);
  else if (typeof addEventListener === 'function') addEventListener('storage', onStorage);

  return {
    post(message) {
      if (channel) channel.postMessage(message);
      else if (store) {
        // A nonce makes every message a change, so repeated messages still fire `storage`.
        store.setItem(msgKey, JSON.stringify({ m: message, n: Math.random() }));
      }
    },
    read() {
      try {
        const raw = store?.getItem(stateKey);
        return raw ? (JSON.parse(raw) as SharedState) : null;
      } catch {
        return null;
      }
    },
    write(state) {
      if (!store) return;
      if (state) store.setItem(stateKey, JSON.stringify(state));
      else store.removeItem(stateKey);
    },
    close() {
      channel?.close();
      if (!channel && typeof removeEventListener === 'function')
        removeEventListener('storage', onStorage);
    },
  };
}
