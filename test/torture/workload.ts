import {
  type Answer,
  type CallSpec,
  type History,
  type Op,
  type ProcessName,
  SERVES,
  type ServeName,
} from './history.js';
import type { Prng } from './prng.js';

/**
 * The simulated users. Each client owns one account and runs one operation at a time
 * (sign-in, refresh, protected requests with its current and its old tokens, logout,
 * logout-all, password change); an admin changes roles, disables and enables accounts and
 * now and then revokes everyone, sometimes racing a client's own sign-in or refresh; a few
 * guessers send bursts of wrong passwords for accounts of their own across all instances.
 * After each acknowledged revocation the covered token is probed on every process until
 * refused, which measures the lag.
 */

export interface WorkloadOptions {
  clients: number;
  guessers: number;
  adminEmail: string;
  /** The token of the admin's invitation (see Cluster.adminInvitation). */
  adminInvitation: string;
  /** How long a probe keeps retrying a token that is still accepted (ms). */
  probeSpanMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Runs one task at a time per client; the admin takes it to race the client on purpose. */
class Lock {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(task: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release = () => {};
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await task();
    } finally {
      release();
    }
  }
}

interface Session {
  sid: string;
  access: string;
  refresh: string;
}

interface PoolToken {
  token: string;
  sid: string;
  /** When the answer carrying it came back (history ms). */
  obtainedAt: number;
  /** Expiry, wall clock ms. */
  expMs: number;
}

const ok = (op: Op) => op.status !== null && op.status >= 200 && op.status < 300;
const MAX_SESSIONS = 3;
const POOL_SIZE = 10;
const MAX_PASSWORD_CHANGES = 3;

export class World {
  readonly clients: UserClient[] = [];
  readonly guessers: Guesser[] = [];
  readonly admin: Admin;
  private readonly probes = new Set<Promise<void>>();
  /** Actors stop starting operations at this history time (ms); set by run(). */
  stopAt = Number.POSITIVE_INFINITY;
  /**
   * While the nemesis has cut an instance off Redis (before killing it), most revocations
   * go to that instance: what it acknowledges then must still reach every process.
   */
  focus: ServeName | null = null;

  constructor(
    readonly history: History,
    readonly rng: Prng,
    readonly options: WorkloadOptions,
  ) {
    for (let i = 0; i < options.clients; i++) this.clients.push(new UserClient(this, i));
    for (let i = 0; i < options.guessers; i++) this.guessers.push(new Guesser(this, i));
    this.admin = new Admin(this);
  }

  /** Where a revocation goes: usually the focused instance if any, else a random one. */
  revoker(rng: Prng): ServeName {
    if (this.focus !== null && rng.chance(0.8)) return this.focus;
    return rng.pick(SERVES);
  }

  /** Ends the run now (Ctrl-C). */
  stopNow(): void {
    this.stopAt = Math.min(this.stopAt, this.history.now());
  }

  get stopping(): boolean {
    return this.history.now() >= this.stopAt;
  }

  call(spec: CallSpec): Promise<Answer> {
    return this.history.call(spec);
  }

  /**
   * After an acknowledged revocation: sends the covered token to every process, again
   * every 100 ms while it is accepted (bounded), so the checker can time each refusal.
   */
  probe(revocation: Op, tokens: string[], actor: string, userId: string | undefined): void {
    const acked = revocation.received;
    if (acked === null) return;
    for (const token of tokens.slice(0, 2)) {
      for (const process of [...SERVES, 'verifier'] as const) {
        const task = (async () => {
          for (let i = 0; i < 100; i++) {
            const meta: Partial<Op> = { probeOf: revocation.id };
            if (userId !== undefined) meta.userId = userId;
            const { op } = await this.call({
              kind: process === 'verifier' ? 'check' : 'me',
              actor,
              process,
              method: 'GET',
              path: process === 'verifier' ? '/check' : '/auth/me',
              token,
              meta,
              timeoutMs: 4000,
            });
            if (!ok(op) || this.history.now() - acked > this.options.probeSpanMs) return;
            await sleep(100);
          }
        })();
        this.probes.add(task);
        void task.finally(() => this.probes.delete(task));
      }
    }
  }

  /** Signs up every account (setup phase, before any fault). */
  async setup(): Promise<void> {
    await this.admin.signup();
    const all = [...this.clients, ...this.guessers];
    for (let i = 0; i < all.length; i += 4)
      await Promise.all(all.slice(i, i + 4).map((actor) => actor.signup()));
  }

  /** Runs every actor for `ms`, then waits for in-flight work and probes. */
  async run(ms: number): Promise<void> {
    this.stopAt = Math.min(this.stopAt, this.history.now() + ms);
    this.admin.plan(this.stopAt);
    await Promise.all([
      ...this.clients.map((client) => client.run()),
      ...this.guessers.map((guesser) => guesser.run()),
      this.admin.run(),
    ]);
    while (this.probes.size > 0) await Promise.all([...this.probes]);
  }
}

export class UserClient {
  readonly name: string;
  readonly email: string;
  readonly address: string;
  readonly rng: Prng;
  readonly lock = new Lock();
  userId: string | undefined;
  /** The password as far as this client knows; more than one after an unanswered change. */
  candidates: string[];
  sessions: Session[] = [];
  pool: PoolToken[] = [];
  passwordChanges = 0;
  /** No sign-in before this history time (after ACCOUNT_DISABLED or RATE_LIMITED). */
  private loginNotBefore = 0;

  constructor(
    private readonly world: World,
    readonly index: number,
  ) {
    this.name = `client${index}`;
    this.email = `client${index}@torture.test`;
    this.address = `10.1.${index >> 8}.${(index & 255) + 1}`;
    this.rng = world.rng.fork(this.name);
    this.candidates = [newPassword(this.rng)];
  }

  get password(): string {
    return this.candidates[0] as string;
  }

  private serve(): ServeName {
    return this.rng.pick(SERVES);
  }

  private meta(extra: Partial<Op> = {}): Partial<Op> {
    const meta: Partial<Op> = { email: this.email, ...extra };
    if (this.userId !== undefined) meta.userId = this.userId;
    return meta;
  }

  private remember(op: Op): Session | null {
    if (!op.obtained || op.received === null) return null;
    const { claims, accessToken, refreshToken } = op.obtained;
    this.pool.push({
      token: accessToken,
      sid: claims.sid,
      obtainedAt: op.received,
      expMs: claims.exp * 1000,
    });
    if (this.pool.length > POOL_SIZE) this.pool.shift();
    const session: Session = { sid: claims.sid, access: accessToken, refresh: refreshToken };
    const index = this.sessions.findIndex((s) => s.sid === claims.sid);
    if (index >= 0) this.sessions[index] = session;
    else {
      this.sessions.push(session);
      if (this.sessions.length > MAX_SESSIONS) this.sessions.shift();
    }
    return session;
  }

  private drop(sid: string): void {
    this.sessions = this.sessions.filter((s) => s.sid !== sid);
  }

  /** Latest tokens obtained before `before` (history ms), newest first. */
  tokensBefore(before: number): string[] {
    const now = Date.now();
    return this.pool
      .filter((t) => t.obtainedAt < before && t.expMs > now + 1000)
      .sort((a, b) => b.obtainedAt - a.obtainedAt)
      .map((t) => t.token);
  }

  async signup(): Promise<void> {
    for (let attempt = 0; attempt < 5 && this.userId === undefined; attempt++) {
      const { op, body } = await this.world.call({
        kind: 'signup',
        actor: this.name,
        process: SERVES[(this.index + attempt) % SERVES.length] as ServeName,
        method: 'POST',
        path: '/auth/signup',
        body: { email: this.email, password: this.password },
        forwardedFor: this.address,
        meta: this.meta({ password: this.password }),
      });
      const user = body?.user as { id?: unknown } | undefined;
      if (ok(op) && typeof user?.id === 'string') {
        this.userId = user.id;
        op.userId = user.id;
        this.remember(op);
      } else if (op.code === 'EMAIL_TAKEN') {
        await this.login(SERVES[attempt % SERVES.length] as ServeName);
      }
    }
    if (this.userId === undefined) throw new Error(`${this.name} could not sign up`);
  }

  async login(process: ServeName = this.serve()): Promise<void> {
    const password = this.password;
    const { op, body } = await this.world.call({
      kind: 'login',
      actor: this.name,
      process,
      method: 'POST',
      path: '/auth/login',
      body: { email: this.email, password, device: this.name },
      forwardedFor: this.address,
      meta: this.meta({ password }),
    });
    const user = body?.user as { id?: unknown } | undefined;
    if (typeof user?.id === 'string' && this.userId === undefined) this.userId = user.id;
    if (this.remember(op)) this.candidates = [password];
    else if (op.code === 'INVALID_CREDENTIALS' && this.candidates.length > 1)
      this.candidates.push(this.candidates.shift() as string);
    else if (op.code === 'ACCOUNT_DISABLED' || op.code === 'RATE_LIMITED')
      this.loginNotBefore = this.world.history.now() + Math.max(1000, (op.retryAfter ?? 0) * 1000);
  }

  async refresh(session: Session): Promise<void> {
    const { op } = await this.world.call({
      kind: 'refresh',
      actor: this.name,
      process: this.serve(),
      method: 'POST',
      path: '/auth/refresh',
      body: { refreshToken: session.refresh },
      forwardedFor: this.address,
      meta: this.meta({ sid: session.sid }),
    });
    if (!this.remember(op) && op.status === 401) this.drop(session.sid);
  }

  /** Refreshes one of the sessions, or signs in when there is none (the admin's race partner). */
  async refreshOrLogin(): Promise<void> {
    const session = this.sessions.length > 0 ? this.rng.pick(this.sessions) : undefined;
    if (session !== undefined && this.rng.chance(0.7)) await this.refresh(session);
    else await this.login();
  }

  private pickToken(): { token: string; current: Session | undefined } | null {
    const now = Date.now();
    this.pool = this.pool.filter((t) => t.expMs > now - 5000);
    if (this.sessions.length > 0 && this.rng.chance(0.6)) {
      const session = this.rng.pick(this.sessions);
      return { token: session.access, current: session };
    }
    if (this.pool.length === 0) return null;
    const old = this.rng.pick(this.pool);
    return { token: old.token, current: this.sessions.find((s) => s.access === old.token) };
  }

  async protectedRequest(process: ProcessName): Promise<void> {
    const picked = this.pickToken();
    if (picked === null) return;
    const { op } = await this.world.call({
      kind: process === 'verifier' ? 'check' : 'me',
      actor: this.name,
      process,
      method: 'GET',
      path: process === 'verifier' ? '/check' : '/auth/me',
      token: picked.token,
      meta: this.meta(),
    });
    // The current token refused: refresh its session, as a real client would.
    if (picked.current !== undefined && op.status === 401) await this.refresh(picked.current);
  }

  async logout(session: Session): Promise<void> {
    const { op } = await this.world.call({
      kind: 'logout',
      actor: this.name,
      process: this.world.revoker(this.rng),
      method: 'POST',
      path: '/auth/logout',
      token: session.access,
      meta: this.meta({ sid: session.sid }),
    });
    if (ok(op) || op.status === 401) this.drop(session.sid);
    if (ok(op)) this.world.probe(op, [session.access], this.name, this.userId);
  }

  async logoutAll(session: Session): Promise<void> {
    const password = this.password;
    const { op } = await this.world.call({
      kind: 'logout-all',
      actor: this.name,
      process: this.world.revoker(this.rng),
      method: 'POST',
      path: '/auth/logout-all',
      body: { password },
      token: session.access,
      meta: this.meta({ sid: session.sid, password }),
    });
    if (ok(op)) {
      this.sessions = [];
      this.world.probe(op, this.tokensBefore(op.sent), this.name, this.userId);
    } else if (op.status === 401 && op.code !== 'INVALID_CREDENTIALS') this.drop(session.sid);
    else if (op.code === 'INVALID_CREDENTIALS' && this.candidates.length > 1)
      this.candidates.push(this.candidates.shift() as string);
  }

  async changePassword(session: Session): Promise<void> {
    const current = this.password;
    const next = newPassword(this.rng);
    const { op } = await this.world.call({
      kind: 'password',
      actor: this.name,
      process: this.world.revoker(this.rng),
      method: 'POST',
      path: '/auth/password',
      body: { currentPassword: current, newPassword: next },
      token: session.access,
      meta: this.meta({ sid: session.sid, password: current, newPassword: next }),
    });
    this.passwordChanges += 1;
    if (ok(op)) {
      this.candidates = [next];
      const old = this.tokensBefore(op.sent);
      this.sessions = [];
      this.remember(op);
      this.world.probe(op, old, this.name, this.userId);
    } else if (op.status === null || op.status >= 500) {
      // Unknown outcome: the next sign-in tries both.
      this.candidates = [next, current];
    } else if (op.code === 'INVALID_CREDENTIALS' && this.candidates.length > 1) {
      this.candidates.push(this.candidates.shift() as string);
    } else if (op.status === 401) this.drop(session.sid);
  }

  private async step(): Promise<void> {
    if (this.sessions.length === 0) {
      const wait = this.world.history.now() < this.loginNotBefore;
      if (this.pool.length > 0 && (wait || this.rng.chance(0.5)))
        await this.protectedRequest(this.rng.chance(0.5) ? 'verifier' : this.serve());
      else if (!wait) await this.login();
      return;
    }
    const session = this.rng.pick(this.sessions);
    const action = this.rng.weighted({
      me: 30,
      check: 18,
      refresh: 12,
      login: this.sessions.length < MAX_SESSIONS ? 4 : 0,
      logout: 5,
      logoutAll: 1.5,
      password: this.passwordChanges < MAX_PASSWORD_CHANGES ? 1.5 : 0,
    });
    switch (action) {
      case 'me':
        return this.protectedRequest(this.serve());
      case 'check':
        return this.protectedRequest('verifier');
      case 'refresh':
        return this.refresh(session);
      case 'login':
        return this.login();
      case 'logout':
        return this.logout(session);
      case 'logoutAll':
        return this.logoutAll(session);
      case 'password':
        return this.changePassword(session);
    }
  }

  async run(): Promise<void> {
    while (!this.world.stopping) {
      await this.lock.run(() => this.step());
      await sleep(this.rng.int(30, 200));
    }
  }
}

export class Admin {
  readonly name = 'admin';
  readonly email: string;
  readonly password: string;
  readonly address = '10.0.0.1';
  readonly rng: Prng;
  private session: Session | undefined;
  /** Users this admin believes disabled. */
  readonly disabled = new Set<string>();
  private roleCounter = 0;
  private nextRevokeEveryone = Number.POSITIVE_INFINITY;

  constructor(private readonly world: World) {
    this.email = world.options.adminEmail;
    this.rng = world.rng.fork('admin');
    this.password = newPassword(this.rng);
  }

  /** The first revoke-everyone lands in the middle third of the run. */
  plan(stopAt: number): void {
    const start = this.world.history.now();
    this.nextRevokeEveryone = start + (stopAt - start) * (0.35 + 0.3 * this.rng.next());
  }

  private serve(): ServeName {
    return this.rng.pick(SERVES);
  }

  /** Accepts the invitation `--admin-email` made; after a lost answer, signs in instead. */
  async signup(): Promise<void> {
    for (let attempt = 0; attempt < 5 && this.session === undefined; attempt++) {
      const accept = attempt === 0;
      const { op } = await this.world.call({
        kind: accept ? 'accept-invitation' : 'login',
        actor: this.name,
        process: SERVES[attempt % SERVES.length] as ServeName,
        method: 'POST',
        path: accept ? '/auth/invitations/accept' : '/auth/login',
        body: accept
          ? { token: this.world.options.adminInvitation, password: this.password }
          : { email: this.email, password: this.password },
        forwardedFor: this.address,
        meta: { email: this.email, password: this.password },
      });
      this.keep(op);
    }
    if (this.session === undefined) throw new Error('the admin could not accept its invitation');
  }

  private keep(op: Op): boolean {
    if (!op.obtained) return false;
    const { claims, accessToken, refreshToken } = op.obtained;
    if (!claims.roles.includes('admin')) throw new Error('the admin account has no admin role');
    this.session = { sid: claims.sid, access: accessToken, refresh: refreshToken };
    return true;
  }

  private async ensureSession(): Promise<boolean> {
    if (this.session !== undefined) return true;
    const { op } = await this.world.call({
      kind: 'login',
      actor: this.name,
      process: this.serve(),
      method: 'POST',
      path: '/auth/login',
      body: { email: this.email, password: this.password },
      forwardedFor: this.address,
      meta: { email: this.email, password: this.password },
    });
    return this.keep(op);
  }

  /** Signs in afresh (after healing) and returns the access token, or null. */
  async freshToken(): Promise<string | null> {
    this.session = undefined;
    await this.ensureSession();
    return (this.session as Session | undefined)?.access ?? null;
  }

  /** The admin's own token was refused: rotate it, or sign in again. */
  private async renew(): Promise<void> {
    const session = this.session;
    if (session === undefined) return;
    const { op } = await this.world.call({
      kind: 'refresh',
      actor: this.name,
      process: this.serve(),
      method: 'POST',
      path: '/auth/refresh',
      body: { refreshToken: session.refresh },
      forwardedFor: this.address,
      meta: { sid: session.sid },
    });
    if (!this.keep(op) && op.status === 401) this.session = undefined;
  }

  private async adminCall(
    kind: 'roles' | 'disable' | 'enable' | 'revoke-everyone',
    path: string,
    meta: Partial<Op>,
    body?: unknown,
  ): Promise<Op | null> {
    const session = this.session;
    if (session === undefined) return null;
    const spec: CallSpec = {
      kind,
      actor: this.name,
      process: this.world.revoker(this.rng),
      method: kind === 'roles' ? 'PUT' : 'POST',
      path,
      token: session.access,
      meta,
    };
    if (body !== undefined) spec.body = body;
    const { op } = await this.world.call(spec);
    if (op.status === 401) await this.renew();
    return op;
  }

  private async act(): Promise<void> {
    if (!(await this.ensureSession())) return;
    const now = this.world.history.now();
    if (now >= this.nextRevokeEveryone) {
      const op = await this.adminCall('revoke-everyone', '/admin/revoke-everyone', {});
      // Until one is acknowledged, try again a second later.
      this.nextRevokeEveryone =
        op !== null && ok(op) ? now + 40_000 + this.rng.next() * 30_000 : now + 1000;
      if (op && ok(op)) {
        this.session = undefined;
        for (const client of this.rng.shuffle(this.world.clients).slice(0, 3))
          this.world.probe(op, client.tokensBefore(op.sent).slice(0, 1), this.name, client.userId);
      }
      return;
    }
    const targets = this.world.clients.filter((c) => c.userId !== undefined);
    if (targets.length === 0) return;
    const target = this.rng.pick(targets);
    const userId = target.userId as string;
    const disabled = this.disabled.has(userId);
    const action = this.rng.weighted({ roles: 5, switch: 3 });
    const race = this.rng.chance(0.5);
    const run = async (): Promise<void> => {
      let op: Op | null;
      if (action === 'roles') {
        const roles = [`r${++this.roleCounter}`];
        op = await this.adminCall(
          'roles',
          `/admin/users/${userId}/roles`,
          { userId, roles },
          { roles },
        );
      } else {
        const kind = disabled ? 'enable' : 'disable';
        op = await this.adminCall(kind, `/admin/users/${userId}/${kind}`, { userId });
        if (op !== null && ok(op)) {
          if (kind === 'disable') this.disabled.add(userId);
          else this.disabled.delete(userId);
        }
      }
      if (op !== null && ok(op) && op.kind !== 'enable')
        this.world.probe(op, target.tokensBefore(op.sent), this.name, userId);
    };
    if (!race) return run();
    // Hold the client still, then run its sign-in or refresh concurrently with this change.
    await target.lock.run(async () => {
      await Promise.all([run(), sleep(this.rng.int(0, 8)).then(() => target.refreshOrLogin())]);
    });
  }

  async run(): Promise<void> {
    while (!this.world.stopping) {
      await this.act();
      await sleep(this.rng.int(150, 600));
    }
  }
}

export class Guesser {
  readonly name: string;
  readonly email: string;
  readonly rng: Prng;
  private readonly password: string;
  userId: string | undefined;

  constructor(
    private readonly world: World,
    index: number,
  ) {
    this.name = `guesser${index}`;
    this.email = `guess${index}@torture.test`;
    this.rng = world.rng.fork(this.name);
    this.password = newPassword(this.rng);
  }

  async signup(): Promise<void> {
    for (let attempt = 0; attempt < 5 && this.userId === undefined; attempt++) {
      const { op, body } = await this.world.call({
        kind: 'signup',
        actor: this.name,
        process: SERVES[attempt % SERVES.length] as ServeName,
        method: 'POST',
        path: '/auth/signup',
        body: { email: this.email, password: this.password },
        forwardedFor: `10.2.0.${attempt + 1}`,
        meta: { email: this.email, password: this.password },
      });
      const user = body?.user as { id?: unknown } | undefined;
      if (ok(op) && typeof user?.id === 'string') this.userId = user.id;
      if (op.code === 'EMAIL_TAKEN') return;
    }
  }

  /** One burst of concurrent wrong passwords spread over the instances, each from its own address. */
  private async burst(): Promise<Op[]> {
    const n = this.rng.int(3, 12);
    const offset = this.rng.int(0, SERVES.length - 1);
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const password = `wrong-${this.rng.word(14)}`;
        return this.world.call({
          kind: 'guess',
          actor: this.name,
          process: SERVES[(offset + i) % SERVES.length] as ServeName,
          method: 'POST',
          path: '/auth/login',
          body: { email: this.email, password },
          forwardedFor: `10.${this.rng.int(100, 250)}.${this.rng.int(0, 255)}.${this.rng.int(1, 254)}`,
          meta: { email: this.email, password },
        });
      }),
    );
    return answers.map((a) => a.op);
  }

  async run(): Promise<void> {
    await sleep(this.rng.int(0, 2000));
    while (!this.world.stopping) {
      const ops = await this.burst();
      const wait = Math.max(0, ...ops.map((op) => (op.retryAfter ?? 0) * 1000));
      await sleep(Math.min(3000, Math.max(this.rng.int(200, 800), wait + this.rng.int(0, 200))));
    }
  }
}

/** A random password that passes the strength rules (no service or email words). */
export function newPassword(rng: Prng): string {
  return `${rng.word(6)}-${rng.word(6)}-${rng.word(6)}`;
}
