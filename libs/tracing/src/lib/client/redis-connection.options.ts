import type { RedisOptions } from '@nestjs/microservices';
import { DEFAULT_REDIS_RETRY_DELAY_MS, DEFAULT_REDIS_URL } from '../constants';

type RedisTransportOptions = NonNullable<RedisOptions['options']>;

/**
 * Nest's Redis transport options for a `redis://` or `rediss://` URL (user, password, database, TLS), with
 * reconnection on: Nest's Redis client and server give up at the first disconnect unless `retryAttempts` is set
 * (nestjs/nest#14044), which would leave a service deaf after a Redis restart.
 */
export function redisConnectionOptions(url: string = DEFAULT_REDIS_URL): RedisTransportOptions {
  // Error messages end up in logs: they show the URL with its password masked.
  const shown = redactPassword(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`REDIS_URL "${shown}" is not a URL: expected redis://[user:password@]host[:port][/db]`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL "${shown}" must start with redis:// or rediss://`);
  }
  const path = parsed.pathname.slice(1);
  if (path.length > 0 && !/^\d{1,5}$/.test(path)) {
    throw new Error(`REDIS_URL "${shown}": the path must be a database number`);
  }
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username && { username: decodeCredential(parsed.username, shown) }),
    ...(parsed.password && { password: decodeCredential(parsed.password, shown) }),
    ...(path.length > 0 && { db: Number(path) }),
    ...(parsed.protocol === 'rediss:' && { tls: {} }),
    retryAttempts: Number.MAX_SAFE_INTEGER,
    retryDelay: DEFAULT_REDIS_RETRY_DELAY_MS,
  };
}

function decodeCredential(value: string, shown: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new Error(`REDIS_URL "${shown}": bad percent-encoding in the user or password (write a literal "%" as %25)`);
  }
}

/** `scheme://user:secret@host` → `scheme://user:***@host`; works on strings that do not parse as URLs too. */
export function redactPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^@/]*@/i, '$1***@');
}
