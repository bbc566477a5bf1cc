import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RateLimitedLog } from '../logging/rate-limited-log';
import { recordRefusedMessage } from '../messaging/messaging-metrics';

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

/**
 * Keeps what could not be handled, so that nothing is dropped silently: counts it per kind (here, and in the metric
 * `nest_redis_otel.messages.refused`), logs each kind once per
 * interval (a flood of bad messages must not become a flood of log lines), and pushes it onto a capped Redis list.
 * Never throws: failing to keep a dead letter is logged (rate-limited too) and counted.
 */
export class DeadLetters {
  private readonly logger = new Logger('DeadLetters');
  private readonly counts = new Map<string, number>();
  private readonly key: string;
  private readonly maxEntries: number;
  private readonly maxStoredLength: number;
  private readonly log: RateLimitedLog;
  private readonly isKeeping: boolean;

  constructor(
    private readonly redis: () => Redis | undefined,
    options: DeadLetterOptions | false = {},
  ) {
    const settings = options || {};
    this.key = settings.key ?? DEFAULT_DEAD_LETTER_KEY;
    this.maxEntries = settings.maxEntries ?? 1000;
    this.maxStoredLength = settings.maxStoredLength ?? 64 * 1024;
    this.log = new RateLimitedLog((line) => this.logger.warn(line), settings.logIntervalMs ?? 60_000);
    this.isKeeping = options !== false;
  }

  /** How many messages were refused, per kind, since start. */
  get totals(): ReadonlyMap<string, number> {
    return this.counts;
  }

  get listKey(): string {
    return this.key;
  }

  /** Counts, logs (rate-limited) and stores one refused message. */
  async keep(kind: string, reason: string, channel: string, raw: string): Promise<void> {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    recordRefusedMessage(channel, kind);
    const kept = this.isKeeping ? `; kept in Redis list "${this.key}"` : '';
    this.log.write(kind, `Refused a message on "${channel}" (${kind}): ${reason}${kept}`);
    if (!this.isKeeping) return;
    const redis = this.redis();
    const letter: DeadLetter = {
      kind,
      reason,
      channel,
      receivedAt: new Date().toISOString(),
      bytes: Buffer.byteLength(raw),
      raw: raw.length > this.maxStoredLength ? raw.slice(0, this.maxStoredLength) : raw,
      truncated: raw.length > this.maxStoredLength,
    };
    try {
      if (!redis) throw new Error('no Redis connection');
      await redis.multi().lpush(this.key, JSON.stringify(letter)).ltrim(this.key, 0, this.maxEntries - 1).exec();
    } catch (error) {
      this.counts.set('dead-letter-failed', (this.counts.get('dead-letter-failed') ?? 0) + 1);
      this.log.write('dead-letter-failed', `Could not keep a refused message in "${this.key}": ${(error as Error).message}`);
    }
  }
}
