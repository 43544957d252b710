import {
  ALL_ROUTES,
  LABELS,
  type Route,
  type Workload,
  type WorkloadError,
} from './load-workload.js';

export interface RouteSummary {
  route: Route;
  label: string;
  count: number;
  perSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  statuses: Record<string, number>;
}

export interface TimelinePoint {
  second: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  meP99Ms: number;
  refreshP99Ms: number;
  byRoute: Partial<Record<Route, number>>;
}

export interface LoadResults {
  meta: {
    date: string;
    seconds: number;
    elapsedSeconds: number;
    workers: number;
    instances: number;
    seedUsers: number;
    mix: Record<string, number>;
    node: string;
    cpu: string;
    cores: number;
    memoryGiB: number;
    loadAverageStart: number[];
    loadAverageEnd: number[];
    postgres: string;
  };
  cpu: {
    cores: number;
    generatorSeconds: number;
    serverSeconds: number[];
    /** The run database's backends (connections open when the run started). */
    postgresSeconds: number;
    redisSeconds: number;
    machineBusyFraction: number;
  };
  total: { count: number; perSec: number; p50Ms: number; p99Ms: number };
  routes: RouteSummary[];
  timeline: TimelinePoint[];
  expected: Record<string, number>;
  acceptedAfterLogout: number;
  errors: { count: number; samples: WorkloadError[] };
  users: number;
  liveSessions: number;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Totals per route, and a point per second of the run. */
export function summarise(w: Workload, elapsed: number): Omit<LoadResults, 'meta' | 'cpu'> {
  const routes = ALL_ROUTES.map((route): RouteSummary => {
    const s = w.stats.get(route)!;
    return {
      route,
      label: LABELS[route],
      count: s.latencies.length,
      perSec: s.latencies.length / elapsed,
      p50Ms: percentile(s.latencies, 50),
      p90Ms: percentile(s.latencies, 90),
      p99Ms: percentile(s.latencies, 99),
      // A loop, not Math.max(...): a quiet run records more latencies than the stack takes.
      maxMs:
        s.latencies.length === 0
          ? Number.NaN
          : s.latencies.reduce((max, ms) => Math.max(max, ms), Number.NEGATIVE_INFINITY),
      statuses: Object.fromEntries([...s.statuses].sort(([a], [b]) => a - b)),
    };
  });
  const all = ALL_ROUTES.flatMap((r) => w.stats.get(r)!.latencies);
  // The last second is partial (the run ends inside it): left out of the timeline.
  const whole = Math.floor(elapsed);
  const timeline = w.seconds.slice(0, whole).map(
    (s, second): TimelinePoint => ({
      second,
      perSec: s.latencies.length,
      p50Ms: percentile(s.latencies, 50),
      p99Ms: percentile(s.latencies, 99),
      meP99Ms: percentile(s.byRoute.get('me') ?? [], 99),
      refreshP99Ms: percentile(s.byRoute.get('refresh') ?? [], 99),
      byRoute: Object.fromEntries(s.counts),
    }),
  );
  return {
    total: {
      count: all.length,
      perSec: all.length / elapsed,
      p50Ms: percentile(all, 50),
      p99Ms: percentile(all, 99),
    },
    routes,
    timeline,
    expected: Object.fromEntries(w.expected),
    acceptedAfterLogout: w.acceptedAfterLogout,
    errors: { count: w.errorCount, samples: w.errors },
    users: w.users.length,
    liveSessions: w.liveSessions,
  };
}

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');

export function renderLoadMarkdown(r: LoadResults, svgName: string): string {
  const m = r.meta;
  const mix = Object.entries(m.mix)
    .map(([k, v]) => `${k} ${v}`)
    .join(' : ');
  const cpuTotal = m.cores * r.meta.elapsedSeconds;
  const lines = [
    `# Load test: two instances on PostgreSQL + Redis (${m.seconds} s)`,
    '',
    `${m.date} · Node ${m.node} · ${m.cpu} × ${m.cores} · ${m.memoryGiB} GiB · ${m.postgres} · load average at start ${m.loadAverageStart.map(f2).join(' ')}, at end ${m.loadAverageEnd.map(f2).join(' ')}`,
    '',
    `Two \`notbefore serve\` processes (PostgreSQL store, Redis feed, rate limit off, argon2id at`,
    `the default cost), a database and a Redis of the run's own, and the load generator, all on`,
    `these ${m.cores} cores. ${m.workers} requests in flight (a closed loop), each picking its route from the mix`,
    `${mix}; ${m.seedUsers} users with two sessions each seeded first. After each logout the`,
    'logged-out token is sent to the other instance (its own row below). A 401 with',
    '`TOKEN_REVOKED` reason `claims` (a token older than a role change) is answered the way a client',
    'should: refresh, retry.',
    '',
    `**${r.total.count.toLocaleString('en')} requests in ${f1(m.elapsedSeconds)} s: ${f1(r.total.perSec)}/s, p50 ${f2(r.total.p50Ms)} ms, p99 ${f2(r.total.p99Ms)} ms; unexpected answers: ${r.errors.count}.**`,
    '',
    `![throughput and p99 per second](${svgName})`,
    '',
    '| route | requests | per second | p50 | p90 | p99 | max | statuses |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...r.routes.map(
      (s) =>
        `| ${s.label} | ${s.count.toLocaleString('en')} | ${f1(s.perSec)} | ${f2(s.p50Ms)} ms | ${f2(s.p90Ms)} ms | ${f2(s.p99Ms)} ms | ${f2(s.maxMs)} ms | ${Object.entries(
          s.statuses,
        )
          .map(([k, v]) => `${k}×${v}`)
          .join(' ')} |`,
    ),
    '',
    '## Expected refusals',
    '',
    ...(Object.keys(r.expected).length === 0
      ? ['None.']
      : Object.entries(r.expected).map(([what, n]) => `- ${what}: ${n}`)),
    `- logged-out tokens the other instance still accepted (the feed had not reached it yet): ${r.acceptedAfterLogout}`,
    '',
    '## Unexpected answers',
    '',
    r.errors.count === 0
      ? 'None.'
      : [
          `${r.errors.count} in all; the first ones:`,
          '',
          ...r.errors.samples.map(
            (e) => `- ${f1(e.at)} s: ${LABELS[e.route]} → ${e.status} ${e.code ?? ''}`,
          ),
        ].join('\n'),
    '',
    '## CPU',
    '',
    `Over the run the machine was ${f1(r.cpu.machineBusyFraction * 100)} % busy (of ${m.cores} cores, ${f1(cpuTotal)} core-seconds; other work on the machine included).`,
    '',
    '| process | CPU seconds | CPU per request (all routes) |',
    '|---|---:|---:|',
    ...[
      ...r.cpu.serverSeconds.map((v, i) => [`notbefore serve #${i + 1}`, v] as const),
      ['PostgreSQL (the database backends)', r.cpu.postgresSeconds] as const,
      ['redis-server', r.cpu.redisSeconds] as const,
      ['load generator', r.cpu.generatorSeconds] as const,
    ].map(
      ([what, v]) => `| ${what} | ${f1(v)} | ${f2((v * 1e6) / Math.max(1, r.total.count))} µs |`,
    ),
    '',
    `At the end: ${r.users} users, ${r.liveSessions} live sessions held by the generator.`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** Two panels over the seconds of the run: requests per second, and p99 latency. */
export function renderLoadSvg(r: LoadResults): string {
  const W = 900;
  const H = 560;
  const left = 70;
  const right = W - 20;
  const panels = [
    { top: 50, bottom: 250, title: 'Requests per second (all routes)' },
    { top: 320, bottom: 520, title: 'p99 latency per second (ms)' },
  ];
  const t = r.timeline;
  const n = Math.max(1, t.length - 1);
  const x = (i: number) => left + ((right - left) * i) / n;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="600">notbefore load test: ${r.meta.instances} instances, PostgreSQL + Redis, ${r.meta.workers} in flight, ${r.meta.seconds} s</text>`,
  ];
  const series = (
    panel: (typeof panels)[number],
    max: number,
    lines: Array<{ values: number[]; color: string; label: string }>,
  ) => {
    const y = (v: number) => panel.bottom - ((panel.bottom - panel.top) * v) / max;
    out.push(
      `<text x="${left}" y="${panel.top - 10}" font-weight="600">${panel.title}</text>`,
      `<line x1="${left}" y1="${panel.bottom}" x2="${right}" y2="${panel.bottom}" stroke="#999"/>`,
      `<line x1="${left}" y1="${panel.top}" x2="${left}" y2="${panel.bottom}" stroke="#999"/>`,
    );
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      out.push(
        `<line x1="${left}" y1="${y(v)}" x2="${right}" y2="${y(v)}" stroke="#eee"/>`,
        `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v >= 100 ? v.toFixed(0) : v.toFixed(1)}</text>`,
      );
    }
    for (let s = 0; s < t.length; s += Math.max(1, Math.ceil(t.length / 12)))
      out.push(`<text x="${x(s)}" y="${panel.bottom + 16}" text-anchor="middle">${s} s</text>`);
    lines.forEach((line, k) => {
      const points = line.values
        .map((v, i) =>
          Number.isFinite(v) ? `${x(i).toFixed(1)},${y(Math.min(v, max)).toFixed(1)}` : '',
        )
        .filter((p) => p !== '')
        .join(' ');
      out.push(
        `<polyline fill="none" stroke="${line.color}" stroke-width="1.8" points="${points}"/>`,
        `<rect x="${right - 200}" y="${panel.top + 4 + k * 16}" width="12" height="3" fill="${line.color}"/>`,
        `<text x="${right - 184}" y="${panel.top + 9 + k * 16}">${line.label}</text>`,
      );
    });
  };
  const niceMax = (values: number[]) => {
    const m = values.reduce((max, v) => (Number.isFinite(v) ? Math.max(max, v) : max), 1);
    const step = 10 ** Math.floor(Math.log10(m));
    return Math.ceil((m * 1.1) / step) * step;
  };
  series(panels[0]!, niceMax(t.map((p) => p.perSec)), [
    { values: t.map((p) => p.perSec), color: '#1f6feb', label: 'all requests' },
  ]);
  const p99 = [
    { values: t.map((p) => p.p99Ms), color: '#d1242f', label: 'p99, all routes' },
    { values: t.map((p) => p.meP99Ms), color: '#1f6feb', label: 'p99, GET /auth/me' },
    { values: t.map((p) => p.refreshP99Ms), color: '#1a7f37', label: 'p99, POST /auth/refresh' },
  ];
  series(panels[1]!, niceMax(p99.flatMap((l) => l.values)), p99);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
