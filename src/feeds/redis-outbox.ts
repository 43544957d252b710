import type { Clock } from '../clock.js';
import type { FeedOutbox } from './port.js';
import { CERTIFY_SCRIPT, MISSING_SCRIPT, OUTBOX_CHUNK, PUBLISH_SCRIPT } from './redis-scripts.js';

export interface RedisOutboxOptions {
  /** EVALSHA with the stream and seqs keys. */
  runScript(script: string, args: (string | number)[]): Promise<unknown>;
  clock: Clock;
  /** How long stream entries are kept (ms): trims the seqs set with the stream. */
  retentionMs: number;
}

/**
 * The outbox side of the Redis feed (see FeedOutbox): which logged seqs the stream holds,
 * and a repair followed by a certificate. The epoch is the server's run id, so a check made
 * before a restart is never trusted after it.
 */
export function redisOutbox({ runScript, clock, retentionMs }: RedisOutboxOptions): FeedOutbox {
  return {
    async missing(seqs) {
      let epoch = '';
      const absent: number[] = [];
      for (let i = 0; i === 0 || i < seqs.length; i += OUTBOX_CHUNK) {
        const reply = await runScript(MISSING_SCRIPT, seqs.slice(i, i + OUTBOX_CHUNK).map(String));
        if (!Array.isArray(reply)) throw new Error('revocation feed: unexpected outbox reply');
        epoch = String(reply[0] ?? '');
        // No stream: nothing is held, and certify will say so.
        if (reply[1] === 'missing') return { epoch, missing: [...seqs] };
        for (const seq of reply.slice(2)) absent.push(Number(seq));
      }
      return { epoch, missing: absent };
    },
    async certify(entries, at, epoch) {
      const minMs = Math.max(0, clock.now() - retentionMs);
      // Big repairs go ahead one by one; the last chunk goes with the certificate, so a
      // certificate is never written ahead of an event it vouches for.
      const cut = Math.max(0, entries.length - OUTBOX_CHUNK);
      for (const { seq, event } of entries.slice(0, cut)) {
        const id = await runScript(PUBLISH_SCRIPT, [
          `${minMs}-0`,
          minMs,
          JSON.stringify(event),
          String(seq),
        ]);
        if (id === null) return 'missing';
      }
      const last = entries.slice(cut);
      const args: (string | number)[] = [`${minMs}-0`, minMs, epoch, Math.floor(at)];
      for (const { seq, event } of last) args.push(JSON.stringify(event), String(seq));
      const reply = String(await runScript(CERTIFY_SCRIPT, args));
      if (reply === 'certified' || reply === 'epoch-changed' || reply === 'missing') return reply;
      throw new Error(`revocation feed: unexpected certify reply ${reply}`);
    },
  };
}
