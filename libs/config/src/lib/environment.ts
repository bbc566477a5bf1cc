import { DEFAULT_REDIS_URL, redisConnectionOptions } from '@nest-redis-otel/tracing';

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
