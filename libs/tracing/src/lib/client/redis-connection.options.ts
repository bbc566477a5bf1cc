import type { RedisOptions } from '@nestjs/microservices';
import { DEFAULT_REDIS_RETRY_DELAY_MS, DEFAULT_REDIS_URL } from '../constants';
import { CLUSTER_OPTION, type ClusterConnection, type RedisNodeAddress, type RedisTopology } from './redis-topology';

type RedisTransportOptions = NonNullable<RedisOptions['options']> & { [CLUSTER_OPTION]?: ClusterConnection };

const RECONNECT_FOREVER = { retryAttempts: Number.MAX_SAFE_INTEGER, retryDelay: DEFAULT_REDIS_RETRY_DELAY_MS };

/**
 * Nest's Redis transport options for a topology: a URL (see below), a Sentinel-managed primary (ioredis asks the
 * sentinels, and with its failover detector reconnects as soon as they announce a new primary), or a cluster (the
 * `cluster` option, which `TracedClientRedis`, `TracedServerRedis` and `createRedisConnection` turn into an ioredis
 * `Cluster`; Nest's own classes do not know it). Reconnection is on in every case.
 */
export function redisTopologyOptions(topology: RedisTopology): RedisTransportOptions {
  if ('url' in topology) return redisConnectionOptions(topology.url);
  return { ...sentinelOrClusterOptions(topology), ...RECONNECT_FOREVER };
}

/**
 * The ioredis side of `redisTopologyOptions` for Sentinel (`Redis` options) or a cluster (the `cluster` option), without
 * Nest's retry settings: what `createRedisConnection` gives ioredis.
 */
export function sentinelOrClusterOptions(topology: Exclude<RedisTopology, { url: string }>): RedisTransportOptions {
  if ('sentinel' in topology) {
    const sentinel = topology.sentinel;
    checkAddresses('sentinels', sentinel.sentinels);
    if (!sentinel.name) throw new Error('Redis Sentinel: the primary\'s name is empty');
    return {
      sentinels: sentinel.sentinels.map(({ host, port }) => ({ host, port })),
      name: sentinel.name,
      ...(sentinel.username && { username: sentinel.username }),
      ...(sentinel.password && { password: sentinel.password }),
      ...(sentinel.db !== undefined && { db: sentinel.db }),
      ...(sentinel.tls && { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true }),
      ...(sentinel.sentinelUsername && { sentinelUsername: sentinel.sentinelUsername }),
      ...(sentinel.sentinelPassword && { sentinelPassword: sentinel.sentinelPassword }),
      // Subscribes to the sentinels' +switch-master: reconnects to the new primary when it is announced, rather than
      // when the old connection times out.
      failoverDetector: true,
    } as RedisTransportOptions;
  }
  const cluster = topology.cluster;
  checkAddresses('cluster nodes', cluster.nodes);
  const redisOptions = {
    ...(cluster.username && { username: cluster.username }),
    ...(cluster.password && { password: cluster.password }),
    ...(cluster.tls && { tls: {} }),
  };
  return {
    [CLUSTER_OPTION]: {
      nodes: cluster.nodes.map(({ host, port }) => ({ host, port })),
      options: { redisOptions },
      pubsub: cluster.pubsub ?? 'sharded',
      globalChannels: [...(cluster.globalChannels ?? [])],
    },
  };
}

function checkAddresses(what: string, nodes: readonly RedisNodeAddress[]): void {
  if (nodes.length === 0) throw new Error(`Redis ${what}: none given`);
  for (const { host, port } of nodes) {
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`Redis ${what}: "${host}:${port}" is not a host:port`);
  }
}

/**
 * Nest's Redis transport options for a `redis://` or `rediss://` URL (user, password, database, TLS), with
 * reconnection on: Nest's Redis client and server give up at the first disconnect unless `retryAttempts` is set
 * (nestjs/nest#14044), which would leave a service deaf after a Redis restart.
 */
export function redisConnectionOptions(url: string = DEFAULT_REDIS_URL): RedisTransportOptions {
  // Error messages end up in logs: they show the URL with its password masked.
  const shown = redactRedisUrl(url);
  if (/[/?#]/.test(userinfoOf(url)?.text ?? '')) {
    throw new Error(
      `REDIS_URL "${shown}": an "@" comes after a "/", "?" or "#". If the user or password holds one of these, ` +
        'percent-encode it ("/" as %2F, "?" as %3F, "#" as %23, and "@" as %40, "%" as %25)',
    );
  }
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
    ...RECONNECT_FOREVER,
  };
}

function decodeCredential(value: string, shown: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new Error(`REDIS_URL "${shown}": bad percent-encoding in the user or password (write a literal "%" as %25)`);
  }
}

/** Everything a URL's scheme (`redis:`, then any slashes) may be followed by before its userinfo. */
const SCHEME = /^[a-z][a-z0-9+.-]*:\/*/i;
/** A user name as URLs write it (unreserved, sub-delims, percent-encoded), safe to tell apart from the password. */
const PLAIN_USER = /^[a-z0-9._~!$&'()*+,;=%-]*$/i;

/**
 * A Redis URL fit for a message or a log: `scheme://user:secret@host` → `scheme://user:***@host`. It works on any
 * string, whether or not it parses as a URL: everything from after the scheme to the last "@" is the userinfo, so
 * a password holding "/", "?", "#", "@", ":" or spaces is hidden whole. The user is shown only when it is a plain
 * URL user name; otherwise the whole userinfo is hidden.
 */
export function redactRedisUrl(url: string): string {
  const userinfo = userinfoOf(url);
  if (userinfo === undefined) return url;
  const colon = userinfo.text.indexOf(':');
  const user = colon === -1 ? undefined : userinfo.text.slice(0, colon);
  const shownUser = user !== undefined && PLAIN_USER.test(user) ? `${user}:` : '';
  return `${url.slice(0, userinfo.start)}${shownUser}***${url.slice(userinfo.end)}`;
}

/** What lies between the scheme and the last "@", if there is an "@". */
function userinfoOf(url: string): { text: string; start: number; end: number } | undefined {
  const end = url.lastIndexOf('@');
  if (end === -1) return undefined;
  const start = SCHEME.exec(url)?.[0].length ?? 0;
  return { text: url.slice(start, end), start, end };
}
