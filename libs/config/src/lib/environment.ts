import { join } from 'node:path';
import { DEFAULT_REDIS_URL, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel, redisConnectionOptions } from '@nest-redis-otel/tracing';

/** The environment a service reads its settings from (`process.env`, or a plain object in tests). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** An integer setting from `min` to `max`; unset or empty → `fallback`. Throws an error naming the variable. */
export function envInteger(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name}="${raw}" is invalid: expected an integer from ${min} to ${max}`);
  }
  return value;
}

/** One of `choices`; unset or empty → the first. Throws an error naming the variable and the choices. */
export function envChoice<const T extends string>(env: Environment, name: string, choices: readonly [T, ...T[]]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return choices[0];
  if (!(choices as readonly string[]).includes(raw)) {
    throw new Error(`${name}="${raw}" is invalid: expected ${choices.map((choice) => `"${choice}"`).join(' or ')}`);
  }
  return raw as T;
}

/** `REDIS_URL` (default `redis://localhost:6379`), checked now so that a typo stops the start, not the first message. */
export function envRedisUrl(env: Environment): string {
  const url = env['REDIS_URL'] || DEFAULT_REDIS_URL;
  redisConnectionOptions(url);
  return url;
}

/** `LOG_LEVEL` (default `info`) and `LOG_FORMAT`: `pretty` by default in a terminal outside production, else `json`. */
export function envLogging(env: Environment, isTerminal = Boolean(process.stdout.isTTY)): { level: LogLevel; format: LogFormat } {
  const level = envChoice(env, 'LOG_LEVEL', LOG_LEVELS);
  const fallback: LogFormat = isTerminal && env['NODE_ENV'] !== 'production' ? 'pretty' : 'json';
  const format = envChoice(env, 'LOG_FORMAT', fallback === 'pretty' ? ['pretty', 'json'] : [...LOG_FORMATS]);
  if (format === 'pretty' && !canResolve('pino-pretty')) {
    if (env['LOG_FORMAT'] === 'pretty') throw new Error('LOG_FORMAT="pretty" needs the pino-pretty package (a dev dependency): install it or use "json"');
    return { level, format: 'json' };
  }
  return { level, format };
}

/** Whether `name` can be loaded from the working directory (where pino resolves its transports from, too). */
function canResolve(name: string): boolean {
  // Not `import { createRequire }`: webpack rewrites a `createRequire(…).resolve(…)` it can see into a lookup in its
  // own bundle, where the check always failed (the built apps refused LOG_FORMAT=pretty with pino-pretty installed).
  const { createRequire } = process.getBuiltinModule('node:module');
  try {
    createRequire(join(process.cwd(), 'index.js')).resolve(name);
    return true;
  } catch {
    return false;
  }
}
