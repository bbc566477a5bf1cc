import type { DeadLetterStore, Refusal } from '@nest-redis-otel/tracing/internal';
import type { Redis } from 'ioredis';

/** An entry as the Streams server read it: where from, and its raw fields (null: trimmed while pending). */
export interface StreamEntry {
  stream: string;
  entryId: string;
  fields: readonly string[] | null;
}

/**
 * The Streams server's dead-letter store: the entry goes to a capped stream with the kind and reason, then is
 * acknowledged, so never delivered again. An entry it fails to keep stays pending and comes back (`redelivers`).
 */
export class DeadLetterStream implements DeadLetterStore<StreamEntry> {
  readonly redelivers = true;

  constructor(
    private readonly redis: () => Redis | undefined,
    private readonly key: string,
    private readonly group: string,
  ) {}

  get location(): string {
    return `stream "${this.key}"`;
  }

  async keep({ kind, reason }: Refusal, { stream, entryId, fields }: StreamEntry): Promise<void> {
    const redis = this.redis();
    if (!redis) throw new Error('no Redis connection');
    await redis.xadd(this.key, 'MAXLEN', '~', 10_000, '*', 'stream', stream, 'entry', entryId, 'kind', kind, 'reason', reason, 'fields', JSON.stringify(fields ?? []));
    await redis.xack(stream, this.group, entryId);
  }
}
