import type { Attributes } from '@opentelemetry/api';
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
// ioredis's own slot function; it ships no types. Both packages build to CommonJS, where `require` is the module.
const calculateSlot = require('cluster-key-slot') as (key: string) => number;

/** What this reads of an ioredis `Redis` or `Cluster` (public properties of both). */
interface RedisLike {
  isCluster?: boolean;
  /** Cluster: the node keys (`host:port`, primary first) of each hash slot, as ioredis last learnt them. */
  slots?: (string[] | undefined)[];
  stream?: { remoteAddress?: string; remotePort?: number };
  options?: { host?: string; port?: number };
}

/**
 * `server.address` and `server.port` of the Redis node that serves `key` (a stream, a sharded channel) on
 * `client`: on a cluster, the primary of the key's slot as the client last learnt it (none for a command that any
 * node takes); otherwise the node the connection is connected to (after a Sentinel failover, the new primary).
 * Empty when unknown. Never throws.
 */
export function redisNodeAttributes(client: unknown, key?: string): Attributes {
  try {
    const redis = client as RedisLike | null | undefined;
    if (!redis) return {};
    if (redis.isCluster) {
      if (key === undefined) return {};
      const node = redis.slots?.[calculateSlot(key)]?.[0];
      const colon = node?.lastIndexOf(':') ?? -1;
      return node && colon > 0 ? { [ATTR_SERVER_ADDRESS]: node.slice(0, colon), [ATTR_SERVER_PORT]: Number(node.slice(colon + 1)) } : {};
    }
    const address = redis.stream?.remoteAddress ?? redis.options?.host;
    const port = redis.stream?.remotePort ?? redis.options?.port;
    return address && port ? { [ATTR_SERVER_ADDRESS]: address, [ATTR_SERVER_PORT]: port } : {};
  } catch {
    return {};
  }
}
