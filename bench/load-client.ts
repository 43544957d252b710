import { Agent, request } from 'node:http';

/** One answer: status, parsed JSON body (or null), and how long it took (ms). */
export interface Answer {
  status: number;
  body: Record<string, unknown> | null;
  ms: number;
}

/**
 * A minimal keep-alive HTTP/1.1 client for the load test: node:http with one agent per
 * instance, so the generator's own cost per request stays small next to the servers'.
 */
export class LoadClient {
  private readonly agent: Agent;

  constructor(
    readonly base: string,
    sockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  send(method: string, path: string, body?: unknown, token?: string): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { 'x-auth-transport': 'bearer' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(`${this.base}${path}`, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: Record<string, unknown> | null = null;
          try {
            parsed = text === '' ? null : (JSON.parse(text) as Record<string, unknown>);
          } catch {
            parsed = { unparsed: text.slice(0, 200) };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, ms: performance.now() - t0 });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The error code of an answer's `{ error: { code } }` body, if any. */
export function errorCode(answer: Answer): string | undefined {
  const error = answer.body?.error as { code?: unknown } | undefined;
  return typeof error?.code === 'string' ? error.code : undefined;
}
