import { type Environment, envChoice, envInteger, envLogging, envRedisUrl } from '@nest-redis-otel/config';
import type { LogFormat, LogLevel } from '@nest-redis-otel/tracing';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** items-api's settings, read once from the environment at start-up. */
export interface AppConfig {
  port: number;
  redisUrl: string;
  /** How long `GET /api/items/:id` waits for redis-consumer's reply before answering 504. */
  replyTimeoutMs: number;
  /** How long `POST /api/items` waits for Redis to accept the event before answering 503. */
  publishTimeoutMs: number;
  logging: { level: LogLevel; format: LogFormat };
  /** `POST /api/tracecontext/validate` for the W3C trace-context test suite (TRACECONTEXT_VALIDATION=1). */
  traceContextValidation: boolean;
  /** `pubsub` (default; at-most-once, the tutorial's) or `streams` (Redis Streams, at-least-once). */
  messagingTransport: 'pubsub' | 'streams';
  /** Streams only: each stream is trimmed to about this many entries. */
  streamsMaxLength: number;
}

/** Reads and validates the environment; throws an error naming the bad variable. */
export function loadConfig(env: Environment = process.env): AppConfig {
  return {
    port: envInteger(env, 'PORT', 3000, 0, 65535),
    redisUrl: envRedisUrl(env),
    replyTimeoutMs: envInteger(env, 'REPLY_TIMEOUT_MS', 5000, 1, 600_000),
    publishTimeoutMs: envInteger(env, 'PUBLISH_TIMEOUT_MS', 1500, 1, 600_000),
    logging: envLogging(env),
    traceContextValidation: envChoice(env, 'TRACECONTEXT_VALIDATION', ['0', '1']) === '1',
    messagingTransport: envChoice(env, 'MESSAGING_TRANSPORT', ['pubsub', 'streams']),
    streamsMaxLength: envInteger(env, 'STREAMS_MAX_LENGTH', 100_000, 1000, 1_000_000_000),
  };
}
