import { type Answer, errorCode, type LoadClient } from './load-client.js';

/** The routes of the mix, and the probe that follows each logout on the other instance. */
export const ROUTES = ['signup', 'login', 'refresh', 'me', 'logout', 'roles'] as const;
export type Route = (typeof ROUTES)[number] | 'me-after-logout';
export const ALL_ROUTES: readonly Route[] = [...ROUTES, 'me-after-logout'];

/** How often each route is picked: sign-up : sign-in : refresh : /me : logout : role change. */
export const MIX: Record<(typeof ROUTES)[number], number> = {
  signup: 1,
  login: 5,
  refresh: 50,
  me: 1000,
  logout: 5,
  roles: 1,
};

export const LABELS: Record<Route, string> = {
  signup: 'POST /auth/signup',
  login: 'POST /auth/login',
  refresh: 'POST /auth/refresh',
  me: 'GET /auth/me',
  logout: 'POST /auth/logout',
  roles: 'PUT /admin/users/:id/roles',
  'me-after-logout': 'GET /auth/me, the logged-out token, other instance',
};

const PASSWORD = 'load test: correct horse battery staple';
/** A user's live sessions stay below the server's cap (20), so no sign-in evicts one. */
const MAX_SESSIONS = 15;

interface User {
  id: string;
  email: string;
  sessions: number;
  /** Role changes in flight, and when the last one was answered (ms, performance.now()). */
  roleChangesInFlight: number;
  roleChangeDoneAt: number;
  roleFlip: boolean;
}

interface Session {
  user: User;
  accessToken: string;
  refreshToken: string;
  /** When the request that returned these tokens was sent. */
  sentAt: number;
}

interface RouteStats {
  latencies: number[];
  statuses: Map<number, number>;
}

/** One second of the run: answers per route and every latency, for the timeline. */
interface Second {
  counts: Map<Route, number>;
  latencies: number[];
  byRoute: Map<Route, number[]>;
}

export interface WorkloadError {
  route: Route;
  status: number;
  code: string | undefined;
  at: number;
}

export class Workload {
  readonly users: User[] = [];
  private readonly pool: Session[] = [];
  readonly stats = new Map<Route, RouteStats>(
    ALL_ROUTES.map((r) => [r, { latencies: [], statuses: new Map() }]),
  );
  readonly seconds: Second[] = [];
  readonly expected = new Map<string, number>();
  readonly errors: WorkloadError[] = [];
  errorCount = 0;
  /** Logged-out tokens the other instance still accepted: the feed had not carried it yet. */
  acceptedAfterLogout = 0;
  private signups = 0;
  private t0 = 0;
  private recording = false;
  private admin: string | undefined;
  private readonly cumulative: number[];
  private readonly total: number;

  constructor(
    private readonly clients: readonly LoadClient[],
    private readonly runId: string,
    private readonly log: (line: string) => void,
  ) {
    const weights = ROUTES.map((r) => MIX[r]);
    this.total = weights.reduce((a, b) => a + b, 0);
    let sum = 0;
    this.cumulative = weights.map((w) => {
      sum += w;
      return sum;
    });
  }

  get liveSessions(): number {
    return this.pool.length;
  }

  private client(): LoadClient {
    return this.clients[Math.floor(Math.random() * this.clients.length)]!;
  }

  private other(client: LoadClient): LoadClient {
    return this.clients.find((c) => c !== client) ?? client;
  }

  private pick(): (typeof ROUTES)[number] {
    const x = Math.random() * this.total;
    const i = this.cumulative.findIndex((c) => x < c);
    return ROUTES[i === -1 ? ROUTES.length - 1 : i]!;
  }

  private record(route: Route, answer: Answer): void {
    if (!this.recording) return;
    const stats = this.stats.get(route)!;
    stats.latencies.push(answer.ms);
    stats.statuses.set(answer.status, (stats.statuses.get(answer.status) ?? 0) + 1);
    const s = Math.floor((performance.now() - this.t0) / 1000);
    while (this.seconds.length <= s)
      this.seconds.push({ counts: new Map(), latencies: [], byRoute: new Map() });
    const second = this.seconds[s]!;
    second.counts.set(route, (second.counts.get(route) ?? 0) + 1);
    second.latencies.push(answer.ms);
    const list = second.byRoute.get(route) ?? [];
    list.push(answer.ms);
    second.byRoute.set(route, list);
  }

  private fail(route: Route, answer: Answer): void {
    this.errorCount++;
    const code = errorCode(answer);
    if (this.errors.length < 50)
      this.errors.push({
        route,
        status: answer.status,
        code,
        at: (performance.now() - this.t0) / 1000,
      });
    if (this.errorCount <= 5)
      this.log(`  unexpected answer: ${LABELS[route]} → ${answer.status} ${code ?? ''}`);
  }

  private expect(what: string): void {
    if (this.recording) this.expected.set(what, (this.expected.get(what) ?? 0) + 1);
  }

  private checkout(): Session | undefined {
    if (this.pool.length === 0) return undefined;
    const i = Math.floor(Math.random() * this.pool.length);
    const session = this.pool[i]!;
    this.pool[i] = this.pool[this.pool.length - 1]!;
    this.pool.pop();
    return session;
  }

  private adopt(user: User, answer: Answer, sentAt: number): void {
    const body = answer.body as { accessToken: string; refreshToken: string };
    user.sessions++;
    this.pool.push({
      user,
      accessToken: body.accessToken,
      refreshToken: body.refreshToken,
      sentAt,
    });
  }

  async signup(): Promise<void> {
    this.signups++;
    const email = `load-${this.runId}-${this.signups}@example.com`;
    const sentAt = performance.now();
    const answer = await this.client().send('POST', '/auth/signup', { email, password: PASSWORD });
    this.record('signup', answer);
    if (answer.status !== 201) return this.fail('signup', answer);
    const id = (answer.body as { user: { id: string } }).user.id;
    const user: User = {
      id,
      email,
      sessions: 0,
      roleChangesInFlight: 0,
      roleChangeDoneAt: Number.NEGATIVE_INFINITY,
      roleFlip: false,
    };
    this.users.push(user);
    this.adopt(user, answer, sentAt);
  }

  async login(): Promise<void> {
    let user: User | undefined;
    for (let tries = 0; tries < 5 && user === undefined; tries++) {
      const candidate = this.users[Math.floor(Math.random() * this.users.length)];
      if (candidate !== undefined && candidate.sessions < MAX_SESSIONS) user = candidate;
    }
    if (user === undefined) return this.signup();
    user.sessions++; // held while the sign-in is in flight
    const sentAt = performance.now();
    const answer = await this.client().send('POST', '/auth/login', {
      email: user.email,
      password: PASSWORD,
    });
    user.sessions--;
    this.record('login', answer);
    if (answer.status !== 200) return this.fail('login', answer);
    this.adopt(user, answer, sentAt);
  }

  private async refreshSession(session: Session): Promise<boolean> {
    const sentAt = performance.now();
    const answer = await this.client().send('POST', '/auth/refresh', {
      refreshToken: session.refreshToken,
    });
    this.record('refresh', answer);
    if (answer.status !== 200) {
      this.fail('refresh', answer);
      return false;
    }
    const body = answer.body as { accessToken: string; refreshToken: string };
    session.accessToken = body.accessToken;
    session.refreshToken = body.refreshToken;
    session.sentAt = sentAt;
    return true;
  }

  async refresh(): Promise<void> {
    const session = this.checkout();
    if (session === undefined) return this.signup();
    // A session whose refresh failed is dropped: its state is unknown.
    if (await this.refreshSession(session)) this.pool.push(session);
    else session.user.sessions--;
  }

  /** Whether a role change may have cut this session's access token off. */
  private mayBeCutOff(session: Session): boolean {
    const user = session.user;
    return user.roleChangesInFlight > 0 || session.sentAt < user.roleChangeDoneAt;
  }

  async me(): Promise<void> {
    const session = this.checkout();
    if (session === undefined) return this.signup();
    const client = this.client();
    const answer = await client.send('GET', '/auth/me', undefined, session.accessToken);
    this.record('me', answer);
    if (answer.status === 200) {
      this.pool.push(session);
      return;
    }
    const reason = (answer.body?.error as { reason?: string } | undefined)?.reason;
    if (answer.status === 401 && errorCode(answer) === 'TOKEN_REVOKED' && reason === 'claims') {
      if (!this.mayBeCutOff(session)) {
        this.fail('me', answer);
        session.user.sessions--;
        return;
      }
      // What a client does with reason `claims`: refresh, and try again.
      this.expect('GET /auth/me → 401 TOKEN_REVOKED (claims): token older than a role change');
      if (!(await this.refreshSession(session))) {
        session.user.sessions--;
        return;
      }
      const again = await client.send('GET', '/auth/me', undefined, session.accessToken);
      this.record('me', again);
      if (again.status !== 200) {
        this.fail('me', again);
        session.user.sessions--;
        return;
      }
      this.pool.push(session);
      return;
    }
    this.fail('me', answer);
    session.user.sessions--;
  }

  async logout(): Promise<void> {
    const session = this.checkout();
    if (session === undefined) return this.signup();
    const client = this.client();
    const answer = await client.send('POST', '/auth/logout', undefined, session.accessToken);
    this.record('logout', answer);
    session.user.sessions--;
    if (answer.status !== 204) {
      // A role change may have cut the token off first: refresh, then log out.
      if (
        answer.status === 401 &&
        errorCode(answer) === 'TOKEN_REVOKED' &&
        this.mayBeCutOff(session)
      ) {
        this.expect(
          'POST /auth/logout → 401 TOKEN_REVOKED (claims): token older than a role change',
        );
        session.user.sessions++;
        if (await this.refreshSession(session)) this.pool.push(session);
        else session.user.sessions--;
        return;
      }
      return this.fail('logout', answer);
    }
    // The token after its logout, on the other instance: the revocation must reach it.
    const probe = await this.other(client).send('GET', '/auth/me', undefined, session.accessToken);
    this.record('me-after-logout', probe);
    if (probe.status === 401 && errorCode(probe) === 'TOKEN_REVOKED')
      this.expect('GET /auth/me → 401 TOKEN_REVOKED with a logged-out token (other instance)');
    else if (probe.status === 200) {
      if (this.recording) this.acceptedAfterLogout++;
    } else this.fail('me-after-logout', probe);
  }

  async roles(): Promise<void> {
    const user = this.users[Math.floor(Math.random() * this.users.length)];
    if (user === undefined || this.admin === undefined) return this.signup();
    user.roleFlip = !user.roleFlip;
    user.roleChangesInFlight++;
    const answer = await this.client().send(
      'PUT',
      `/admin/users/${user.id}/roles`,
      { roles: user.roleFlip ? ['member', 'beta'] : ['member'] },
      this.admin,
    );
    user.roleChangesInFlight--;
    user.roleChangeDoneAt = performance.now();
    this.record('roles', answer);
    if (answer.status !== 200) this.fail('roles', answer);
  }

  /** The admin's access token (an account made admin in the database before the run). */
  setAdmin(accessToken: string): void {
    this.admin = accessToken;
  }

  /** Workers in a closed loop, each picking its next route from the mix, until `ms` pass. */
  async run(workers: number, ms: number): Promise<number> {
    this.t0 = performance.now();
    this.recording = true;
    const end = this.t0 + ms;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (performance.now() < end) {
          try {
            await this[this.pick()]();
          } catch (error) {
            this.errorCount++;
            if (this.errorCount <= 5) this.log(`  request failed: ${(error as Error).message}`);
          }
        }
      }),
    );
    this.recording = false;
    return (performance.now() - this.t0) / 1000;
  }
}
