/**
 * npm run torture -- --seconds 120 --seed 42 [--clients 20] [--guessers 3] [--lanes 2]
 *                    [--report report.json] [--history history.json] [--keep] [--quiet]
 *
 * Runs the fault-injection test against real processes on this machine and checks the
 * history. Exit code 0: no violation; 1: violations (listed with their evidence);
 * 2: bad arguments; 3: the harness itself failed; 130: interrupted.
 */
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport } from './report.js';
import { hasRedisServer, runTorture } from './torture.js';

const USAGE =
  'usage: npm run torture -- [--seconds N] [--seed S] [--clients N] [--guessers N] [--lanes N] [--report FILE] [--history FILE] [--keep] [--quiet]';

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer`);
  return value;
}

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        seconds: { type: 'string' },
        seed: { type: 'string' },
        clients: { type: 'string' },
        guessers: { type: 'string' },
        lanes: { type: 'string' },
        report: { type: 'string' },
        history: { type: 'string' },
        keep: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if (!hasRedisServer) {
    console.error('redis-server is not installed: the torture run needs a Redis of its own');
    return 3;
  }
  const str = (name: string) => values[name] as string | undefined;
  let options: Parameters<typeof runTorture>[0];
  try {
    options = {
      seconds: positive('seconds', str('seconds'), 60),
      seed: str('seed') ?? String(randomInt(1, 2 ** 31)),
      clients: positive('clients', str('clients'), 20),
      guessers: positive('guessers', str('guessers'), 3),
      lanes: positive('lanes', str('lanes'), 2),
      keep: values.keep === true,
    };
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const historyPath = str('history');
  if (historyPath !== undefined) options.historyPath = historyPath;
  if (values.quiet === true) options.log = () => {};
  const controller = new AbortController();
  options.signal = controller.signal;
  // The terminal signals the whole process group and tsx relays the signal again, so one
  // Ctrl-C can arrive twice: only a second one a while later quits without cleaning up.
  let interruptedAt = 0;
  const interrupt = () => {
    const now = Date.now();
    if (interruptedAt > 0 && now - interruptedAt > 1500) process.exit(130);
    if (interruptedAt > 0) return;
    interruptedAt = now;
    console.error('interrupted: stopping and cleaning up (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  console.log(`torture: seed ${options.seed}`);
  try {
    const report = await runTorture(options);
    console.log(formatReport(report));
    const reportPath = str('report');
    if (reportPath !== undefined) {
      writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`report written to ${reportPath}`);
    }
    return report.violations.total === 0 ? 0 : 1;
  } catch (error) {
    if (controller.signal.aborted) return 130;
    console.error(`torture: the harness failed (seed ${options.seed}): ${String(error)}`);
    return 3;
  }
}

process.exit(await main());
