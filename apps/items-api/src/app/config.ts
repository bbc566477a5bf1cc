import { type Environment, envChoice, envInteger, envLogging, envRedisTopology } from '@nest-redis-otel/config';
import type { LogFormat, LogLevel, RedisTopology } from '@nest-redis-otel/tracing';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** items-api's settings, read once from the environment at start-up. */
export interface AppConfig {
  port: number;
  /** `REDIS_URL`, or `REDIS_SENTINELS` / `REDIS_CLUSTER_NODES` with their settings. */
  redis: RedisTopology;
  /** How long `GET /api/items/:id` waits for redis-consumer's reply before answering 504. */
  replyTimeoutMs: number;
  /**
   * How long `POST /api/items` and `GET /api/pub` wait for Redis to take the message before answering 503; also the
   * deadline the message carries (a consumer refuses it later than that).
   */
  publishTimeoutMs: number;
  /** How far the clocks of items-api, Redis and redis-consumer may be apart (set it the same in both apps). */
  clockSkewAllowanceMs: number;
  logging: { level: LogLevel; format: LogFormat };
  /** `POST /api/tracecontext/validate` for the W3C trace-context test suite (TRACECONTEXT_VALIDATION=1). */
  traceContextValidation: boolean;
  /** `pubsub` (default; at-most-once, the tutorial's) or `streams` (Redis Streams, at-least-once). */
  messagingTransport: 'pubsub' | 'streams';
  /** Streams only: each stream is trimmed to about this many entries. */
  streamsMaxLength: number;
  /** Streams only: streams per pattern (set the same in redis-consumer); entries go to them in turn. */
  streamsPartitions: number;
  /** Streams only: replicas that must have an entry (`WAIT`) before it counts as accepted; 0: do not wait. */
  streamsWaitReplicas: number;
  streamsWaitTimeoutMs: number;
}

/** Reads and validates the environment; throws an error naming the bad variable. */
export function loadConfig(env: Environment = process.env): AppConfig {
  const publishTimeoutMs = envInteger(env, 'PUBLISH_TIMEOUT_MS', 1500, 1, 600_000);
  const clockSkewAllowanceMs = envInteger(env, 'CLOCK_SKEW_ALLOWANCE_MS', 100, 0, 60_000);
  // A publish acknowledged later than `deadline - 2 × allowance` is answered 503 (see ItemsController.create).
  if (2 * clockSkewAllowanceMs >= publishTimeoutMs) {
    throw new Error(
      `PUBLISH_TIMEOUT_MS=${publishTimeoutMs} must be more than twice CLOCK_SKEW_ALLOWANCE_MS=${clockSkewAllowanceMs}: raise the first or lower the second`,
    );
  }
  // The WAIT is part of taking the message: it must end before the request's publish deadline.
  const streamsWaitReplicas = envInteger(env, 'STREAMS_WAIT_REPLICAS', 0, 0, 16);
  const streamsWaitTimeoutMs = envInteger(env, 'STREAMS_WAIT_TIMEOUT_MS', 100, 1, 60_000);
  if (streamsWaitReplicas > 0 && streamsWaitTimeoutMs >= publishTimeoutMs) {
    throw new Error(`STREAMS_WAIT_TIMEOUT_MS=${streamsWaitTimeoutMs} must be less than PUBLISH_TIMEOUT_MS=${publishTimeoutMs}`);
  }
  return {
    port: envInteger(env, 'PORT', 3000, 0, 65535),
    redis: envRedisTopology(env),
    replyTimeoutMs: envInteger(env, 'REPLY_TIMEOUT_MS', 5000, 1, 600_000),
    publishTimeoutMs,
    clockSkewAllowanceMs,
    logging: envLogging(env),
    traceContextValidation: envChoice(env, 'TRACECONTEXT_VALIDATION', ['0', '1']) === '1',
    messagingTransport: envChoice(env, 'MESSAGING_TRANSPORT', ['pubsub', 'streams']),
    streamsMaxLength: envInteger(env, 'STREAMS_MAX_LENGTH', 100_000, 1000, 1_000_000_000),
    streamsPartitions: envInteger(env, 'STREAMS_PARTITIONS', 1, 1, 256),
    streamsWaitReplicas,
    streamsWaitTimeoutMs,
  };
}
