import { join } from 'node:path';
import {
  CLUSTER_PUBSUB_MODES,
  DEFAULT_REDIS_URL,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
  type RedisNodeAddress,
  type RedisTopology,
  redisConnectionOptions,
  redisTopologyOptions,
} from '@nest-redis-otel/tracing';

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

/** Settings that only apply with `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES` (with `REDIS_URL` they are in the URL). */
const TOPOLOGY_CREDENTIALS = ['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS'] as const;
const SENTINEL_ONLY = ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD', 'REDIS_DB'] as const;
const CLUSTER_ONLY = ['REDIS_CLUSTER_PUBSUB'] as const;

/**
 * Where Redis is: `REDIS_URL` (one server, the default), `REDIS_SENTINELS` (a primary managed by Redis Sentinel) or
 * `REDIS_CLUSTER_NODES` (a Redis Cluster), one of them. Checked now, each problem naming its variable; settings of
 * another topology than the one chosen are refused rather than silently ignored.
 */
export function envRedisTopology(env: Environment): RedisTopology {
  const sentinels = env['REDIS_SENTINELS'];
  const clusterNodes = env['REDIS_CLUSTER_NODES'];
  const chosen = [env['REDIS_URL'] && 'REDIS_URL', sentinels && 'REDIS_SENTINELS', clusterNodes && 'REDIS_CLUSTER_NODES'].filter(Boolean);
  if (chosen.length > 1) throw new Error(`${chosen.join(' and ')} are both set: set one of REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES`);
  const misplaced = (names: readonly string[], topology: string) => {
    const set = names.find((name) => env[name]);
    if (set) throw new Error(`${set} applies only with ${topology}`);
  };
  if (!sentinels && !clusterNodes) {
    misplaced([...TOPOLOGY_CREDENTIALS, ...SENTINEL_ONLY, ...CLUSTER_ONLY], 'REDIS_SENTINELS or REDIS_CLUSTER_NODES (put user and password in REDIS_URL)');
    return { url: envRedisUrl(env) };
  }
  const credentials = {
    ...(env['REDIS_USERNAME'] && { username: env['REDIS_USERNAME'] }),
    ...(env['REDIS_PASSWORD'] && { password: env['REDIS_PASSWORD'] }),
    ...(envChoice(env, 'REDIS_TLS', ['false', 'true']) === 'true' && { tls: true }),
  };
  let topology: RedisTopology;
  if (sentinels) {
    misplaced(CLUSTER_ONLY, 'REDIS_CLUSTER_NODES');
    topology = {
      sentinel: {
        sentinels: envAddresses(env, 'REDIS_SENTINELS', 26379),
        name: env['REDIS_SENTINEL_NAME'] || 'mymaster',
        ...credentials,
        ...(env['REDIS_DB'] && { db: envInteger(env, 'REDIS_DB', 0, 0, 65535) }),
        ...(env['REDIS_SENTINEL_USERNAME'] && { sentinelUsername: env['REDIS_SENTINEL_USERNAME'] }),
        ...(env['REDIS_SENTINEL_PASSWORD'] && { sentinelPassword: env['REDIS_SENTINEL_PASSWORD'] }),
      },
    };
  } else {
    misplaced(SENTINEL_ONLY, 'REDIS_SENTINELS (a cluster has database 0 only)');
    topology = {
      cluster: {
        nodes: envAddresses(env, 'REDIS_CLUSTER_NODES', 6379),
        ...credentials,
        pubsub: envChoice(env, 'REDIS_CLUSTER_PUBSUB', CLUSTER_PUBSUB_MODES),
      },
    };
  }
  redisTopologyOptions(topology);
  return topology;
}

/** A comma-separated list of `host:port` (IPv6 as `[::1]:port`); a missing port is `defaultPort`. */
export function envAddresses(env: Environment, name: string, defaultPort: number): RedisNodeAddress[] {
  const raw = env[name] ?? '';
  const items = raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
  if (items.length === 0) throw new Error(`${name}="${raw}" is invalid: expected host:port[,host:port…]`);
  return items.map((item) => {
    const match = /^(?:\[([0-9a-f:.]+)\]|([^:\s/@]+))(?::(\d{1,5}))?$/i.exec(item);
    const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
    if (!match || port < 1 || port > 65535) throw new Error(`${name}: "${item}" is not a host:port (expected host:port[,host:port…])`);
    return { host: match[1] ?? match[2], port };
  });
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
