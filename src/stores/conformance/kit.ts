import { randomBytes } from 'node:crypto';
import type { NewSession, Store } from '../port.js';

/** What the parts of the store suite share: the store under test and its fixtures. */
export interface StoreKit {
  /** The store of the running test (a fresh one for each). */
  readonly store: Store;
  T0: number;
  IDLE: number;
  ABSOLUTE: number;
  GRACE: number;
  id(): string;
  hash(): string;
  user(
    roles?: string[],
  ): ReturnType<Store['createUser']> extends Promise<infer U> ? Promise<NonNullable<U>> : never;
  sessionInput(u: { id: string; passwordHash: string }, over?: Partial<NewSession>): NewSession;
  session(
    u: { id: string; passwordHash: string },
    over?: Partial<NewSession>,
  ): Promise<
    Extract<Awaited<ReturnType<Store['createSession']>>, { ok: true }> & { refreshHash: string }
  >;
  rotate(
    presentedHash: string,
    successorHash: string,
    nowMs: number,
  ): ReturnType<Store['rotateRefresh']>;
}

export function storeKit(current: () => Store): StoreKit {
  const T0 = 1_800_000_000_000;
  const IDLE = 60_000;
  const ABSOLUTE = 600_000;
  const GRACE = 5_000;
  const id = () => randomBytes(12).toString('base64url');
  const hash = () => randomBytes(32).toString('hex');

  async function user(roles: string[] = ['member']) {
    const u = await current().createUser({
      id: id(),
      email: `${id().toLowerCase()}@example.test`,
      passwordHash: `h-${id()}`,
      roles,
      createdAt: T0,
    });
    if (u === null) throw new Error('createUser failed');
    return u;
  }

  function sessionInput(
    u: { id: string; passwordHash: string },
    over: Partial<NewSession> = {},
  ): NewSession {
    return {
      sid: id(),
      userId: u.id,
      device: 'laptop',
      clientKey: '10.0.0.1',
      nowMs: T0,
      idleTtlMs: IDLE,
      absoluteTtlMs: ABSOLUTE,
      refreshHash: hash(),
      amr: ['pwd'],
      maxSessions: 10,
      expectPasswordHash: u.passwordHash,
      ...over,
    };
  }

  async function session(u: { id: string; passwordHash: string }, over: Partial<NewSession> = {}) {
    const input = sessionInput(u, over);
    const result = await current().createSession(input);
    if (!result.ok) throw new Error(`createSession: ${result.reason}`);
    return { ...result, refreshHash: input.refreshHash };
  }

  return {
    get store() {
      return current();
    },
    T0,
    IDLE,
    ABSOLUTE,
    GRACE,
    id,
    hash,
    user,
    sessionInput,
    session,
    rotate: (presentedHash, successorHash, nowMs) =>
      current().rotateRefresh({
        presentedHash,
        successorHash,
        nowMs,
        graceMs: GRACE,
        idleTtlMs: IDLE,
      }),
  };
}
