import { DEFAULT_REDIS_URL, redisConnectionOptions } from '@nest-redis-otel/tracing';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** items-api's settings, read once from the environment at start-up. */
export interface AppConfig {
  port: number;
  redisUrl: string;
  /** How long `GET /api/items/:id` waits for redis-consumer's reply before answering 504. */
  replyTimeoutMs: number;
  /** How long `POST /api/items` waits for Redis to accept the event before answering 503. */
  publishTimeoutMs: number;
}

/** Reads and validates the environment; throws an error naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const redisUrl = env['REDIS_URL'] || DEFAULT_REDIS_URL;
  redisConnectionOptions(redisUrl);
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    redisUrl,
    replyTimeoutMs: integer(env, 'REPLY_TIMEOUT_MS', 5000, 1, 600_000),
    publishTimeoutMs: integer(env, 'PUBLISH_TIMEOUT_MS', 2000, 1, 600_000),
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}="${raw}" is invalid: expected an integer from ${min} to ${max}`);
  }
  return value;
}
