import { type Environment, envChoice, envInteger, envLogging, envRedisUrl } from '@nest-redis-otel/config';
import type { LogFormat, LogLevel } from '@nest-redis-otel/tracing';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** redis-consumer's settings, read once from the environment at start-up. */
export interface AppConfig {
  redisUrl: string;
  /** `parent` (default): the consumer span continues the producer's trace; `link`: new trace, linked. */
  parentMode: 'parent' | 'link';
  /** Port of `GET /health` (200 once subscribed to its channels, 503 otherwise), for orchestrators. */
  healthPort: number;
  /** Larger messages are refused unread (and kept in the dead-letter list). */
  maxMessageBytes: number;
  /** Redis list where refused messages are kept, newest first, with their reason. */
  deadLetterKey: string;
  deadLetterMaxEntries: number;
  logging: { level: LogLevel; format: LogFormat };
  /** Carries out the W3C trace-context test suite's callbacks (TRACECONTEXT_VALIDATION=1). */
  traceContextValidation: boolean;
}

/** Reads and validates the environment; throws an error naming the bad variable. */
export function loadConfig(env: Environment = process.env): AppConfig {
  return {
    redisUrl: envRedisUrl(env),
    parentMode: envChoice(env, 'TRACE_PARENT_MODE', ['parent', 'link']),
    healthPort: envInteger(env, 'HEALTH_PORT', 3001, 0, 65535),
    maxMessageBytes: envInteger(env, 'MAX_MESSAGE_BYTES', 1024 * 1024, 1024, 512 * 1024 * 1024),
    deadLetterKey: env['DEAD_LETTER_KEY'] || 'redis-consumer:dead-letters',
    deadLetterMaxEntries: envInteger(env, 'DEAD_LETTER_MAX_ENTRIES', 1000, 0, 1_000_000),
    logging: envLogging(env),
    traceContextValidation: envChoice(env, 'TRACECONTEXT_VALIDATION', ['0', '1']) === '1',
  };
}
