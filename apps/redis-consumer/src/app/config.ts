import { type Environment, envChoice, envInteger, envLogging, envRedisTopology } from '@nest-redis-otel/config';
import type { LogFormat, LogLevel, RedisTopology } from '@nest-redis-otel/tracing';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** redis-consumer's settings, read once from the environment at start-up. */
export interface AppConfig {
  /** `REDIS_URL`, or `REDIS_SENTINELS` / `REDIS_CLUSTER_NODES` with their settings. */
  redis: RedisTopology;
  /** `parent` (default): the consumer span continues the producer's trace; `link`: new trace, linked. */
  parentMode: 'parent' | 'link';
  /** Port of `GET /health` (200 once subscribed to its channels, 503 otherwise), for orchestrators. */
  healthPort: number;
  /** Larger messages are refused unread (and kept in the dead-letter list). */
  maxMessageBytes: number;
  /** Messages whose JSON nests objects and arrays deeper than this are refused unparsed (and dead-lettered). */
  maxMessageDepth: number;
  /** Redis list where refused messages are kept, newest first, with their reason. */
  deadLetterKey: string;
  deadLetterMaxEntries: number;
  /**
   * How far the clocks of items-api, Redis and this service may be apart: a message is refused as expired from its
   * deadline minus this (set it the same in both apps).
   */
  clockSkewAllowanceMs: number;
  logging: { level: LogLevel; format: LogFormat };
  /** Carries out the W3C trace-context test suite's callbacks (TRACECONTEXT_VALIDATION=1). */
  traceContextValidation: boolean;
  /**
   * `pubsub` (default): item messages over Redis pub/sub. `streams`: over Redis Streams with a consumer group
   * (at-least-once, replicas share the work); the tutorial's raw channel stays on pub/sub either way.
   */
  messagingTransport: 'pubsub' | 'streams';
  streams: {
    /** The consumer group: replicas with the same group share the entries. */
    group: string;
    /** This replica's name in the group; keep it stable across restarts (default: the host name). */
    consumer?: string;
    /** Entries pending longer than this on a consumer (crashed, or its handler failed) are claimed. */
    claimIdleMs: number;
    /** After this many deliveries an entry goes to the dead-letter stream, unhandled. */
    maxDeliveries: number;
    /** Handlers running at once; a slow entry holds one slot, not the replica. */
    concurrency: number;
    /** Streams per pattern (set the same in items-api): on a cluster, spread over the primaries; each read on its own. */
    partitions: number;
  };
}

/** Reads and validates the environment; throws an error naming the bad variable. */
export function loadConfig(env: Environment = process.env): AppConfig {
  return {
    redis: envRedisTopology(env),
    parentMode: envChoice(env, 'TRACE_PARENT_MODE', ['parent', 'link']),
    healthPort: envInteger(env, 'HEALTH_PORT', 3001, 0, 65535),
    maxMessageBytes: envInteger(env, 'MAX_MESSAGE_BYTES', 1024 * 1024, 1024, 512 * 1024 * 1024),
    // Above a few hundred levels, recursive code (JSON.stringify, loggers) gets close to the stack's limit.
    maxMessageDepth: envInteger(env, 'MAX_MESSAGE_DEPTH', 32, 8, 256),
    deadLetterKey: env['DEAD_LETTER_KEY'] || 'redis-consumer:dead-letters',
    deadLetterMaxEntries: envInteger(env, 'DEAD_LETTER_MAX_ENTRIES', 1000, 0, 1_000_000),
    clockSkewAllowanceMs: envInteger(env, 'CLOCK_SKEW_ALLOWANCE_MS', 100, 0, 60_000),
    logging: envLogging(env),
    traceContextValidation: envChoice(env, 'TRACECONTEXT_VALIDATION', ['0', '1']) === '1',
    messagingTransport: envChoice(env, 'MESSAGING_TRANSPORT', ['pubsub', 'streams']),
    streams: {
      group: env['STREAMS_GROUP'] || 'redis-consumer',
      ...(env['STREAMS_CONSUMER'] && { consumer: env['STREAMS_CONSUMER'] }),
      claimIdleMs: envInteger(env, 'STREAMS_CLAIM_IDLE_MS', 30_000, 100, 86_400_000),
      maxDeliveries: envInteger(env, 'STREAMS_MAX_DELIVERIES', 5, 1, 1000),
      concurrency: envInteger(env, 'STREAMS_CONCURRENCY', 16, 1, 1000),
      partitions: envInteger(env, 'STREAMS_PARTITIONS', 1, 1, 256),
    },
  };
}
