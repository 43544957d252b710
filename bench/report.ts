import type { AuthSuiteResult } from './auth.js';
import type { FeedLatencyResult, LatencySummary } from './feed-latency.js';
import { formatNs, formatRate, type ScenarioResult } from './harness.js';
import type { HttpPeerResult } from './http.js';
import type { ListScaleResult } from './list-scale-worker.js';

export interface BenchMeta {
  date: string;
  mode: 'quick' | 'full';
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  loadAverageStart: number[];
  loadAverageEnd: number[];
  versions: Record<string, string>;
  durationSeconds: number;
  settings: Record<string, unknown>;
  note?: string;
}

export interface Target {
  goal: string;
  /** measured / required, or the measured value when the goal is a bound. */
  measured: string;
  met: boolean | null;
  detail: string;
}

export interface BenchResults {
  meta: BenchMeta;
  verify: ScenarioResult[];
  list: ListScaleResult[];
  http: HttpPeerResult[] | null;
  auth: AuthSuiteResult | null;
  /** Revocation latency on each shared feed; absent from results written before it existed. */
  feeds?: FeedLatencyResult[] | null;
  targets: Target[];
  gaps: string[];
}

function peerNs(scenario: ScenarioResult | undefined, name: string): number {
  return scenario?.peers.find((p) => p.name === name)?.nsPerOp ?? Number.NaN;
}

function ratioTarget(
  goal: string,
  fasterNs: number,
  slowerNs: number,
  required: number,
  detail: string,
): Target {
  const ratio = slowerNs / fasterNs;
  if (!Number.isFinite(ratio)) return { goal, measured: 'not measured', met: null, detail };
  return {
    goal,
    measured: `${ratio.toFixed(2)}× (needs ${required}×)`,
    met: ratio >= required,
    detail,
  };
}

export function evaluateTargets(
  verify: readonly ScenarioResult[],
  list: readonly ListScaleResult[],
  http: readonly HttpPeerResult[] | null,
  feeds: readonly FeedLatencyResult[] | null = null,
): Target[] {
  const targets: Target[] = [];
  const scenario = (id: string) => verify.find((s) => s.id === id);
  for (const alg of ['HS256', 'EdDSA'] as const) {
    const repeated = scenario(`verify-${alg}-repeated`);
    const rotation = scenario(`verify-${alg}-rotation`);
    const nb = peerNs(repeated, 'notbefore verify (cache)');
    targets.push(
      ratioTarget(
        `${alg} repeated token: notbefore (with revocation check) ≥ 3× fast-jwt cached`,
        nb,
        peerNs(repeated, 'fast-jwt (cache)'),
        3,
        'same token repeated',
      ),
    );
    const nbUncached = peerNs(rotation, 'notbefore verify (no cache)');
    targets.push(
      ratioTarget(
        `${alg} uncached: notbefore ≥ 1.0× fast-jwt uncached`,
        nbUncached,
        peerNs(rotation, 'fast-jwt (no cache)'),
        1,
        'distinct tokens in rotation, both caches off',
      ),
    );
    targets.push(
      ratioTarget(
        `${alg} uncached: notbefore ≥ 0.8× the node:crypto floor`,
        nbUncached,
        peerNs(rotation, 'node:crypto floor'),
        0.8,
        'distinct tokens in rotation, cache off',
      ),
    );
    targets.push(
      ratioTarget(
        `${alg} repeated token: ≥ 10× the naive SQLite approach`,
        nb,
        peerNs(repeated, 'naive: fast-jwt (cache) + SQLite SELECT'),
        10,
        'naive = fast-jwt cached verify + SELECT tokens_valid_after per request',
      ),
    );
    targets.push(
      ratioTarget(
        `${alg} repeated token: ≥ 50× the naive PostgreSQL approach`,
        nb,
        peerNs(repeated, 'naive: fast-jwt (cache) + PostgreSQL SELECT'),
        50,
        'naive = fast-jwt cached verify + SELECT tokens_valid_after per request',
      ),
    );
  }
  if (http !== null) {
    const rps = (variant: string) =>
      http.find((h) => h.variant === variant)?.requestsPerSec ?? Number.NaN;
    // Higher is better for requests/s: the ratio is ours over theirs.
    targets.push(
      ratioTarget(
        'Fastify: notbefore plugin ≥ 1.5× @fastify/jwt (requests/s)',
        1 / rps('notbefore'),
        1 / rps('fastify-jwt'),
        1.5,
        '@fastify/jwt with its defaults (no cache), both EdDSA',
      ),
    );
    targets.push(
      ratioTarget(
        'Fastify: notbefore plugin ≥ 0.8× the unauthenticated route (requests/s)',
        1 / rps('notbefore'),
        1 / rps('none'),
        0.8,
        'same route and body, no authentication',
      ),
    );
  } else {
    targets.push({
      goal: 'Fastify: notbefore plugin ≥ 1.5× @fastify/jwt and ≥ 0.8× no auth',
      measured: 'not measured',
      met: null,
      detail: 'HTTP suite did not run (see gaps)',
    });
  }
  const million = list.find((l) => l.entries === 1_000_000);
  if (million === undefined) {
    targets.push({
      goal: 'Revocation list at 10^6 entries: ≤ 32 B/entry, lookup ≤ 100 ns, load < 2 s',
      measured: 'not measured',
      met: null,
      detail: 'list-scale suite did not reach 10^6',
    });
  } else {
    targets.push({
      goal: 'Revocation list: ≤ 32 bytes of heap per live entry at 10^6 entries',
      measured: `${million.listBytesPerEntry.toFixed(1)} B (${(32 / million.listBytesPerEntry).toFixed(2)}× under the bound; Map<string, number>: ${million.mapWithKeysBytesPerEntry.toFixed(1)} B)`,
      met: million.listBytesPerEntry <= 32,
      detail: 'heapUsed + arrayBuffers growth, ids not retained',
    });
    targets.push({
      goal: 'Revocation list: lookup ≤ 100 ns at 10^6 entries',
      measured: `${million.lookupNs.toFixed(0)} ns median, ${million.best.lookupNs.toFixed(0)} ns best (Map.get ${million.mapLookupNs.toFixed(0)} ns); pre-hashed checkKey ${million.checkKeyNs.toFixed(0)} ns`,
      met: million.lookupNs <= 100,
      detail: 'one id hashed and probed, half hits; a full check() hashes three ids',
    });
    targets.push({
      goal: 'Revocation list: loads 10^6 entries in < 2 s',
      measured: `${(million.loadMs / 1000).toFixed(2)} s from events, ${(million.snapshotLoadMs / 1000).toFixed(2)} s from a snapshot`,
      met: million.loadMs < 2000,
      detail: 'applyAll of 10^6 events over the four rules',
    });
  }
  for (const f of feeds ?? []) {
    // Issue 14 set PostgreSQL's bound; the Redis feed's is the one its cluster tests hold.
    const [median, max] = f.feed === 'postgres' ? [5, 50] : [10, 100];
    const worst = Math.max(f.instance.maxMs, f.verifier.maxMs);
    const typical = Math.max(f.instance.medianMs, f.verifier.medianMs);
    targets.push({
      goal: `${f.name}: revoking call answered → another instance or verifier rejects, median ≤ ${median} ms, max ≤ ${max} ms`,
      measured: `median ${typical.toFixed(2)} ms, max ${worst.toFixed(2)} ms (n=${f.instance.n})`,
      met: typical <= median && worst <= max,
      detail: 'loopback; the slower of instance B and the verify-only service',
    });
  }
  return targets;
}

const latency = (s: LatencySummary) =>
  `${s.medianMs.toFixed(2)} ms | ${s.p99Ms.toFixed(2)} ms | ${s.maxMs.toFixed(2)} ms`;

function metMark(met: boolean | null): string {
  if (met === null) return 'not measured';
  return met ? 'met' : '**missed**';
}

export function renderMarkdown(results: BenchResults): string {
  const { meta } = results;
  const lines: string[] = [];
  lines.push(`# notbefore benchmarks (${meta.mode})`);
  lines.push('');
  lines.push(
    `${meta.date} · Node ${meta.node} · ${meta.platform} · ${meta.cpu} × ${meta.cores} · ${meta.memoryGiB} GiB · ` +
      `load average at start ${meta.loadAverageStart.map((l) => l.toFixed(2)).join(' ')}, at end ${meta.loadAverageEnd.map((l) => l.toFixed(2)).join(' ')} · ${meta.durationSeconds.toFixed(0)} s`,
  );
  lines.push('');
  lines.push(
    `Versions: ${Object.entries(meta.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  );
  lines.push('');
  if (meta.note !== undefined) {
    lines.push(`Note: ${meta.note}`);
    lines.push('');
  }
  lines.push(
    'Peers run side by side in one process, interleaved (the order rotates each round); each figure is the median of the rounds, with the fastest–slowest round shown. A load average above the core count means other work shared the machine: compare the ratios, not the absolute times.',
  );
  lines.push('');
  lines.push('## Targets (issue 7)');
  lines.push('');
  lines.push('| target | measured | status |');
  lines.push('|---|---|---|');
  for (const t of results.targets) lines.push(`| ${t.goal} | ${t.measured} | ${metMark(t.met)} |`);
  lines.push('');
  lines.push('## Verify');
  for (const s of results.verify) {
    const nb = peerNs(s, 'notbefore verify (cache)');
    lines.push('');
    lines.push(`### ${s.title}`);
    lines.push('');
    lines.push(
      '| peer | per op (median) | ops/s | time ÷ notbefore (cache) | rounds: fastest – slowest | note |',
    );
    lines.push('|---|---:|---:|---:|---|---|');
    for (const p of s.peers) {
      lines.push(
        `| ${p.name} | ${formatNs(p.nsPerOp)} | ${formatRate(p.opsPerSec)} | ${(p.nsPerOp / nb).toFixed(2)}× | ${formatNs(p.minNs)} – ${formatNs(p.maxNs)} | ${p.note ?? ''} |`,
      );
    }
  }
  lines.push('');
  lines.push('## Revocation list scale');
  lines.push('');
  lines.push(
    '| live entries | bytes/entry (list) | bytes/entry (Map<string, number>, with keys) | Map structure only | lookup (1 id) | Map.get | check (3 ids) | checkKey (pre-hashed) | load from events | load from snapshot |',
  );
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const l of results.list) {
    lines.push(
      `| ${l.entries.toLocaleString('en')} | ${l.listBytesPerEntry.toFixed(1)} | ${l.mapWithKeysBytesPerEntry.toFixed(1)} | ${l.mapBytesPerEntry.toFixed(1)} | ${l.lookupNs.toFixed(0)} ns (${l.best.lookupNs.toFixed(0)}) | ${l.mapLookupNs.toFixed(0)} ns (${l.best.mapLookupNs.toFixed(0)}) | ${l.checkNs.toFixed(0)} ns (${l.best.checkNs.toFixed(0)}) | ${l.checkKeyNs.toFixed(0)} ns (${l.best.checkKeyNs.toFixed(0)}) | ${l.loadMs.toFixed(0)} ms | ${l.snapshotLoadMs.toFixed(0)} ms |`,
    );
  }
  lines.push('');
  lines.push(
    'Each size runs in a fresh process (`--expose-gc`); bytes are heapUsed + arrayBuffers growth after a full GC. Times are the median of 7 repetitions, the fastest in parentheses (interference only adds time); targets use the median. The list keeps 64-bit hashes of the ids, not the strings (a hash collision can only reject a valid token, with probability ~n/2^64). Map.get benefits from V8 caching each string’s hash in the string itself; the list hashes the id on every lookup unless the caller keeps a `revocationKey`.',
  );
  lines.push('');
  lines.push('## HTTP (Fastify, GET /me, autocannon from a separate process, loopback)');
  lines.push('');
  if (results.http === null) {
    lines.push('Not measured (see gaps).');
  } else {
    const none = results.http.find((h) => h.variant === 'none')?.requestsPerSec ?? Number.NaN;
    lines.push('| server | requests/s (median) | p99 latency | vs no auth |');
    lines.push('|---|---:|---:|---:|');
    for (const h of results.http) {
      lines.push(
        `| ${h.name} | ${h.requestsPerSec.toFixed(0)} | ${h.p99Ms} ms | ${(h.requestsPerSec / none).toFixed(2)}× |`,
      );
    }
    const s = meta.settings.http as Record<string, number> | undefined;
    if (s !== undefined) {
      lines.push('');
      lines.push(
        `${s.connections} connections, ${s.seconds} s per run after ${s.warmupSeconds} s of warm-up, ${s.rounds} round(s); a fresh server process per run; the same access token on every request.`,
      );
    }
  }
  lines.push('');
  lines.push('## Sign-in and refresh');
  lines.push('');
  if (results.auth === null) {
    lines.push('Not measured (see gaps).');
  } else {
    const a = results.auth;
    lines.push('| operation | per second | wall ms / op | ops |');
    lines.push('|---|---:|---:|---:|');
    lines.push(
      `| login | ${a.login.perSec.toFixed(1)} | ${a.login.msPerOp.toFixed(1)} | ${a.login.ops} |`,
    );
    lines.push(
      `| refresh (rotation) | ${a.refresh.perSec.toFixed(1)} | ${a.refresh.msPerOp.toFixed(2)} | ${a.refresh.ops} |`,
    );
    lines.push('');
    lines.push(`${a.hash}; ${a.store}; ${a.concurrency} requests in flight.`);
  }
  if (results.feeds !== undefined) {
    lines.push('');
    lines.push('## Revocation feeds (revoking call answered → another process rejects)');
    lines.push('');
    if (results.feeds === null) {
      lines.push('Not measured (see gaps).');
    } else {
      lines.push('| feed | rejects | median | p99 | max | n |');
      lines.push('|---|---|---:|---:|---:|---:|');
      for (const f of results.feeds) {
        lines.push(`| ${f.name} | auth instance B | ${latency(f.instance)} | ${f.instance.n} |`);
        lines.push(
          `| ${f.name} | verify-only service | ${latency(f.verifier)} | ${f.verifier.n} |`,
        );
        lines.push(`| ${f.name} | (the logout call itself) | ${latency(f.call)} | ${f.call.n} |`);
      }
      lines.push('');
      lines.push(
        'Two auth instances and a verify-only service per feed, in one process, on a PostgreSQL schema of the bench’s own (and the local Redis), each feed with its defaults. A sample: `await A.logout(sid)` resolves, then B and the verifier are polled until each rejects the token; the feeds alternate sample by sample. Both feeds answer the logout once the revocation has gone round (Redis: the XADD; PostgreSQL: the commit’s NOTIFY read back by A’s own listener), so B, reading concurrently, usually rejects at the first poll; the logout call’s own time shows what that costs.',
      );
    }
  }
  if (results.gaps.length > 0) {
    lines.push('');
    lines.push('## Gaps');
    lines.push('');
    for (const gap of results.gaps) lines.push(`- ${gap}`);
  }
  lines.push('');
  return lines.join('\n');
}

function axisLabel(value: number): string {
  if (value >= 1e6) return `${value / 1e6}M`;
  if (value >= 1e3) return `${value / 1e3}k`;
  return String(value);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Bars of ops/s per peer, one group per scenario, on a log scale (values span 1000×). */
export function renderSvg(results: BenchResults): string {
  const groups: { title: string; bars: { label: string; value: number; ours: boolean }[] }[] =
    results.verify.map((s) => ({
      title: `${s.title} — verifications/s`,
      bars: s.peers.map((p) => ({
        label: p.name,
        value: p.opsPerSec,
        ours: p.name.startsWith('notbefore'),
      })),
    }));
  if (results.http !== null) {
    groups.push({
      title: 'Fastify GET /me — requests/s',
      bars: results.http.map((h) => ({
        label: h.name,
        value: h.requestsPerSec,
        ours: h.variant === 'notbefore',
      })),
    });
  }
  const all = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all, 1e3)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, 1e4)));
  const width = 960;
  const labelW = 330;
  const valueW = 90;
  const plotW = width - labelW - valueW - 20;
  const barH = 16;
  const gap = 4;
  const x = (v: number) =>
    (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
  const out: string[] = [];
  let y = 40;
  for (const g of groups) {
    out.push(`<text x="10" y="${y}" font-weight="bold">${escapeXml(g.title)}</text>`);
    y += 10;
    for (let p = lo; p <= hi; p *= 10) {
      const gx = labelW + x(p) * plotW;
      const h = g.bars.length * (barH + gap);
      out.push(
        `<line x1="${gx.toFixed(1)}" y1="${y}" x2="${gx.toFixed(1)}" y2="${y + h}" stroke="#ddd"/>`,
      );
      out.push(
        `<text x="${gx.toFixed(1)}" y="${y + h + 12}" font-size="10" text-anchor="middle" fill="#888">${axisLabel(p)}</text>`,
      );
    }
    for (const b of g.bars) {
      const w = Math.max(1, x(b.value) * plotW);
      out.push(
        `<text x="${labelW - 6}" y="${y + barH - 4}" text-anchor="end">${escapeXml(b.label)}</text>`,
      );
      out.push(
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${b.ours ? '#2b7a4b' : '#8a94a6'}"/>`,
      );
      out.push(
        `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH - 4}">${formatRate(b.value)}/s</text>`,
      );
      y += barH + gap;
    }
    y += 40;
  }
  const header = `<text x="10" y="20" font-size="14" font-weight="bold">notbefore vs peers (${results.meta.mode} run, ${escapeXml(results.meta.date)}; log scale, median of rounds)</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    header,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
