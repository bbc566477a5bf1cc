import { Cluster, type Redis } from 'ioredis';
import { CLUSTER_OPTION, type ClusterConnection } from './redis-topology';

/** The cluster a transport's options carry (`redisTopologyOptions({ cluster })`), if any. */
export function clusterOf(options: unknown): ClusterConnection | undefined {
  return typeof options === 'object' && options !== null ? (options as { [CLUSTER_OPTION]?: ClusterConnection })[CLUSTER_OPTION] : undefined;
}

/**
 * An ioredis `Cluster` for one of a transport's connections, not connected yet (Nest connects it). Typed as the
 * `Redis` that Nest's Redis transport declares: the commands and events it uses are the same on a `Cluster`. With
 * sharded pub/sub, the connection is seen through `shardedPubSub`.
 */
export function createClusterClient(cluster: ClusterConnection, retryStrategy: (times: number) => number | void | null): Redis {
  const client = new Cluster(cluster.nodes, {
    ...cluster.options,
    lazyConnect: true,
    clusterRetryStrategy: retryStrategy,
    shardedSubscribers: cluster.pubsub === 'sharded',
  });
  return cluster.pubsub === 'sharded' ? shardedPubSub(client, new Set(cluster.globalChannels)) : (client as unknown as Redis);
}

/** Events of plain pub/sub and their sharded counterparts. */
const SHARDED_EVENTS: Readonly<Record<string, string>> = { message: 'smessage', messageBuffer: 'smessageBuffer' };
const LISTENER_METHODS = new Set(['on', 'addListener', 'once', 'off', 'removeListener', 'prependListener']);

type Callback = (error?: Error | null, result?: unknown) => void;

/**
 * The cluster connection as Nest's Redis transport uses it (PUBLISH, SUBSCRIBE, UNSUBSCRIBE, "message" events), on
 * sharded pub/sub: SPUBLISH, SSUBSCRIBE, SUNSUBSCRIBE, "smessage". A channel then lives on the shard that owns its
 * slot, instead of being relayed to every node. `globalChannels` keep plain pub/sub; a "message" listener hears both.
 * Pattern subscriptions do not exist in sharded pub/sub.
 */
export function shardedPubSub(cluster: Cluster, globalChannels: ReadonlySet<string> = new Set()): Redis {
  /** Channels split into sharded and global ones; a trailing callback goes with the last command sent. */
  const split = (args: unknown[], sharded: (channels: string[], callback?: Callback) => Promise<unknown>, global: (channels: string[], callback?: Callback) => Promise<unknown>) => {
    const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as Callback) : undefined;
    const channels = args as string[];
    const plain = channels.filter((channel) => globalChannels.has(channel));
    const shardedChannels = channels.filter((channel) => !globalChannels.has(channel));
    // No channel named: all of them, of both kinds.
    const sent = [
      ...(shardedChannels.length > 0 || channels.length === 0 ? [sharded(shardedChannels)] : []),
      ...(plain.length > 0 || channels.length === 0 ? [global(plain)] : []),
    ];
    const all = Promise.all(sent);
    if (callback) all.then((results) => callback(null, results[results.length - 1]), (error: Error) => callback(error));
    return all;
  };
  return new Proxy(cluster, {
    get(target, property, receiver) {
      switch (property) {
        case 'publish':
          return (channel: string, message: string, callback?: Callback) => {
            const sent = globalChannels.has(channel) ? target.publish(channel, message) : target.spublish(channel, message);
            if (callback) sent.then((receivers) => callback(null, receivers), (error: Error) => callback(error));
            return sent;
          };
        case 'subscribe':
          return (...args: unknown[]) =>
            split(args, (channels) => target.ssubscribe(...channels), (channels) => target.subscribe(...channels));
        case 'unsubscribe':
          return (...args: unknown[]) =>
            split(args, (channels) => target.sunsubscribe(...channels), (channels) => target.unsubscribe(...channels));
        case 'psubscribe':
          throw new Error('Sharded pub/sub has no pattern subscriptions (wildcards): use the cluster pub/sub mode "global"');
      }
      if (typeof property === 'string' && LISTENER_METHODS.has(property)) {
        const method = Reflect.get(target, property) as (event: string | symbol, listener: (...args: unknown[]) => void) => unknown;
        return (event: string | symbol, listener: (...args: unknown[]) => void) => {
          const sharded = typeof event === 'string' ? SHARDED_EVENTS[event] : undefined;
          method.call(target, event, listener);
          if (sharded) method.call(target, sharded, listener);
          return receiver;
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as Redis;
}
