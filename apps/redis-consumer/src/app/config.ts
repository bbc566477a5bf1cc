import { DEFAULT_REDIS_URL, redisConnectionOptions } from '@nest-redis-otel/tracing';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** redis-consumer's settings, read once from the environment at start-up. */
export interface AppConfig {
  redisUrl: string;
  /** `parent` (default): the consumer span continues the producer's trace; `link`: new trace, linked. */
  parentMode: 'parent' | 'link';
}

/** Reads and validates the environment; throws an error naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const redisUrl = env['REDIS_URL'] || DEFAULT_REDIS_URL;
  redisConnectionOptions(redisUrl);
  const parentMode = env['TRACE_PARENT_MODE'] || 'parent';
  if (parentMode !== 'parent' && parentMode !== 'link') {
    throw new Error(`TRACE_PARENT_MODE="${parentMode}" is invalid: expected "parent" or "link"`);
  }
  return { redisUrl, parentMode };
}
