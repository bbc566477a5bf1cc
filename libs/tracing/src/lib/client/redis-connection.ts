import { Logger } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { DEFAULT_REDIS_URL } from '../constants';
import { clusterOf, quitClosesSentinels } from './cluster-client';
import { sentinelOrClusterOptions } from './redis-connection.options';
import type { RedisTopology } from './redis-topology';
import { OutageLog } from './outage-log';

/**
 * An ioredis connection that reconnects forever (ioredis's default) and logs an outage once, when it starts and when
 * it ends, instead of once per retry (ioredis prints "Unhandled error event" for every attempt without a listener).
 * `target` is a Redis URL or a topology: for `{ cluster }` the connection is an ioredis `Cluster` (typed as `Redis`:
 * the commands are the same; a command's keys must then share a hash slot), for `{ sentinel }` a `Redis` that asks
 * the sentinels for the primary.
 */
export function createRedisConnection(target: string | RedisTopology = DEFAULT_REDIS_URL, loggerContext: string, options: RedisOptions = {}): Redis {
  const outage = new OutageLog(new Logger(loggerContext));
  const redis = connect(typeof target === 'string' ? { url: target } : target, { maxRetriesPerRequest: 1, ...options });
  redis.on('error', (error: Error) => outage.down(error.message));
  redis.on('ready', () => outage.up());
  return redis;
}

function connect(topology: RedisTopology, options: RedisOptions): Redis {
  if ('url' in topology) return new Redis(topology.url, options);
  // This connection keeps ioredis's own reconnection (Nest's retry settings are not ioredis's).
  const topologyOptions = sentinelOrClusterOptions(topology);
  const cluster = clusterOf(topologyOptions);
  if (!cluster) return quitClosesSentinels(new Redis({ ...(topologyOptions as RedisOptions), ...options }));
  const { lazyConnect, enableOfflineQueue, maxRetriesPerRequest, ...nodeOptions } = options;
  return new Cluster(cluster.nodes, {
    ...cluster.options,
    redisOptions: { ...cluster.options.redisOptions, ...nodeOptions, maxRetriesPerRequest },
    ...(lazyConnect !== undefined && { lazyConnect }),
    ...(enableOfflineQueue !== undefined && { enableOfflineQueue }),
  }) as unknown as Redis;
}
