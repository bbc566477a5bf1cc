import type { ClusterNode, ClusterOptions } from 'ioredis';

/** A Redis node or sentinel: host and port. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/**
 * Redis Sentinel: the sentinels are asked for the current primary of `name`, and asked again after a failover
 * (ioredis's own sentinel support, with its failover detector on).
 */
export interface RedisSentinelTopology {
  sentinels: readonly RedisNodeAddress[];
  /** The primary's name in the sentinels' configuration (`sentinel monitor <name> …`). */
  name: string;
  /** ACL user and password of the Redis nodes (not of the sentinels). */
  username?: string;
  password?: string;
  db?: number;
  /** TLS to the nodes and to the sentinels. */
  tls?: boolean;
  /** Only when the sentinels themselves require a password (`requirepass` in sentinel.conf). */
  sentinelUsername?: string;
  sentinelPassword?: string;
}

/** How Nest's message channels use pub/sub on a cluster; see docs/transports.md ("Redis Cluster") for the measurement. */
export const CLUSTER_PUBSUB_MODES = ['sharded', 'global'] as const;
export type ClusterPubSubMode = (typeof CLUSTER_PUBSUB_MODES)[number];

/** Redis Cluster: a few seed nodes; ioredis discovers the rest and follows slot moves and failovers. */
export interface RedisClusterTopology {
  nodes: readonly RedisNodeAddress[];
  username?: string;
  password?: string;
  tls?: boolean;
  /**
   * `sharded` (default): the transport's channels use SPUBLISH / SSUBSCRIBE (Redis 7), each handled by the shard that
   * owns the channel's slot. `global`: PUBLISH / SUBSCRIBE, which every node of the cluster relays to every other.
   */
  pubsub?: ClusterPubSubMode;
  /**
   * With `sharded`: channels that stay on PUBLISH / SUBSCRIBE, for publishers and subscribers that know only plain
   * pub/sub (the tutorial's, other runtimes'). `RawChannelPublisher` always publishes with PUBLISH.
   */
  globalChannels?: readonly string[];
}

/** Where a service's Redis is: one server (a URL), a Sentinel-managed primary, or a cluster. */
export type RedisTopology = { url: string } | { sentinel: RedisSentinelTopology } | { cluster: RedisClusterTopology };

/** What `redisConnectionOptions` puts in a transport's options for a cluster (ioredis `Cluster` arguments). */
export interface ClusterConnection {
  nodes: ClusterNode[];
  options: ClusterOptions;
  pubsub: ClusterPubSubMode;
  globalChannels: readonly string[];
}

/** Options key under which a cluster travels through Nest's Redis transport options. */
export const CLUSTER_OPTION = 'cluster';

/** The topology's kind, for messages and logs. */
export function topologyKind(topology: RedisTopology): 'single' | 'sentinel' | 'cluster' {
  return 'sentinel' in topology ? 'sentinel' : 'cluster' in topology ? 'cluster' : 'single';
}

/** The topology's addresses, for messages and logs (never credentials). */
export function describeTopology(topology: RedisTopology, redact: (url: string) => string): string {
  if ('sentinel' in topology) return `Sentinel "${topology.sentinel.name}" via ${addresses(topology.sentinel.sentinels)}`;
  if ('cluster' in topology) return `cluster via ${addresses(topology.cluster.nodes)}`;
  return redact(topology.url);
}

const addresses = (nodes: readonly RedisNodeAddress[]) => nodes.map(({ host, port }) => `${host}:${port}`).join(',');

/** The topology part of a factory's config (`url`, `sentinel` or `cluster`), and the rest. */
export function splitTopology<T extends object>(config: T): { topology?: RedisTopology; rest: Omit<T, 'url' | 'sentinel' | 'cluster'> } {
  const { url, sentinel, cluster, ...rest } = config as T & Partial<{ url: string; sentinel: unknown; cluster: unknown }>;
  const given = [url !== undefined && 'url', sentinel !== undefined && 'sentinel', cluster !== undefined && 'cluster'].filter(Boolean);
  if (given.length > 1) throw new Error(`Redis: give one of url, sentinel or cluster, not ${given.join(' and ')}`);
  const topology = (url !== undefined ? { url } : sentinel !== undefined ? { sentinel } : cluster !== undefined ? { cluster } : undefined) as RedisTopology | undefined;
  return { topology, rest: rest as Omit<T, 'url' | 'sentinel' | 'cluster'> };
}
