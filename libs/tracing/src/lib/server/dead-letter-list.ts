import type { Redis } from 'ioredis';
import type { DeadLetterStore, Refusal } from '../consumer/dead-letters';

/** Where refused messages are kept: a capped Redis list, newest first. `false` turns keeping off (counted, logged). */
export interface DeadLetterOptions {
  /** Redis list key. Default `nest-redis-otel:dead-letters`. */
  key?: string;
  /** Entries kept; older ones are trimmed. Default 1000. */
  maxEntries?: number;
  /** Longer raw messages are kept cut to this many characters, with their full size. Default 64 KiB. */
  maxStoredLength?: number;
  /** A kind of refusal is logged once, then at most once per interval with a count. Default 60 s. */
  logIntervalMs?: number;
}

export const DEFAULT_DEAD_LETTER_KEY = 'nest-redis-otel:dead-letters';

/** One refused message, as stored (JSON) in the dead-letter list. */
export interface DeadLetter {
  kind: string;
  reason: string;
  channel: string;
  receivedAt: string;
  bytes: number;
  raw: string;
  truncated: boolean;
}

/** A message as the pub/sub server received it: its channel and its text. */
export interface ChannelMessage {
  channel: string;
  raw: string;
}

/** The pub/sub server's dead-letter store: `LPUSH` then `LTRIM` of a Redis list (pub/sub keeps nothing else). */
export class DeadLetterList implements DeadLetterStore<ChannelMessage> {
  readonly redelivers = false;
  private readonly key: string;
  private readonly maxEntries: number;
  private readonly maxStoredLength: number;

  constructor(
    private readonly redis: () => Redis | undefined,
    options: DeadLetterOptions = {},
  ) {
    this.key = options.key ?? DEFAULT_DEAD_LETTER_KEY;
    this.maxEntries = options.maxEntries ?? 1000;
    this.maxStoredLength = options.maxStoredLength ?? 64 * 1024;
  }

  get location(): string {
    return `Redis list "${this.key}"`;
  }

  async keep({ kind, reason }: Refusal, { channel, raw }: ChannelMessage): Promise<void> {
    const redis = this.redis();
    if (!redis) throw new Error('no Redis connection');
    const letter: DeadLetter = {
      kind,
      reason,
      channel,
      receivedAt: new Date().toISOString(),
      bytes: Buffer.byteLength(raw),
      raw: raw.length > this.maxStoredLength ? raw.slice(0, this.maxStoredLength) : raw,
      truncated: raw.length > this.maxStoredLength,
    };
    await redis.multi().lpush(this.key, JSON.stringify(letter)).ltrim(this.key, 0, this.maxEntries - 1).exec();
  }
}
