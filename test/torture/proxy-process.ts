/**
 * The torture run's network: every link proxy in a process of its own, so a busy workload
 * in the harness never adds latency to the database and Redis traffic of the processes
 * under test. Links come in TORTURE_LINKS (JSON); commands arrive over IPC. Exits when the
 * harness goes away.
 */
import { type CutMode, LinkProxy } from './link-proxy.js';

interface LinkSpec {
  name: string;
  host: string;
  port: number;
}

export type ProxyCommand =
  | { id: number; op: 'cut'; link: string; mode: CutMode }
  | { id: number; op: 'delay'; link: string; ms: number }
  | { id: number; op: 'restore'; link: string }
  | { id: number; op: 'restore-all' }
  | { id: number; op: 'status' };

const specs = JSON.parse(process.env.TORTURE_LINKS ?? '[]') as LinkSpec[];
const links = new Map<string, LinkProxy>();
for (const spec of specs) {
  const proxy = new LinkProxy(spec.name, { host: spec.host, port: spec.port });
  await proxy.listen();
  links.set(spec.name, proxy);
}

const linkOf = (name: string): LinkProxy => {
  const link = links.get(name);
  if (link === undefined) throw new Error(`no link ${name}`);
  return link;
};

process.on('message', (message: ProxyCommand) => {
  try {
    let result: unknown = null;
    switch (message.op) {
      case 'cut':
        linkOf(message.link).cut(message.mode);
        break;
      case 'delay':
        linkOf(message.link).delay(message.ms);
        break;
      case 'restore':
        linkOf(message.link).restore();
        break;
      case 'restore-all':
        for (const link of links.values()) link.restore();
        break;
      case 'status':
        result = [...links.values()].map((link) => link.status());
        break;
    }
    process.send?.({ id: message.id, ok: true, result });
  } catch (error) {
    process.send?.({ id: message.id, ok: false, error: String(error) });
  }
});
process.once('disconnect', () => process.exit(0));
process.send?.({
  ready: true,
  ports: Object.fromEntries([...links].map(([name, link]) => [name, link.port])),
});
