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

/**
 * Whether one known node carries `channel`: without a cluster the connected node, on a cluster the shard of a sharded
 * channel. A plain channel on a cluster goes to whichever node takes the PUBLISH and is relayed to all: then neither
 * the node nor PUBLISH's count of subscribers means anything for the channel.
 */
export function hasOneNode(cluster: ClusterConnection | undefined, channel: string): boolean {
  return !cluster || (cluster.pubsub === 'sharded' && !cluster.globalChannels.includes(channel));
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
  /** The sharded channels subscribed through this connection: an unsubscribe naming none names these. */
  const subscribed = new Set<string>();
  /** A command that throws instead of rejecting (ioredis does for a slot it no longer maps) rejects here. */
  const attempt = (send: () => Promise<unknown>) => {
    try {
      return send();
    } catch (error) {
      return Promise.reject(error);
    }
  };
  /** Channels split into sharded and global ones; a trailing callback goes with the last command sent. */
  const split = (
    args: unknown[],
    sharded: (channels: string[]) => Promise<unknown>,
    global: (channels: string[]) => Promise<unknown>,
    whenNone: { sharded: () => string[] },
  ) => {
    const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as Callback) : undefined;
    const channels = args as string[];
    const plain = channels.filter((channel) => globalChannels.has(channel));
    // No channel named: all of them, of both kinds (SUNSUBSCRIBE without a channel has no slot to be sent to).
    const shardedChannels = channels.length === 0 ? whenNone.sharded() : channels.filter((channel) => !globalChannels.has(channel));
    const sent = [
      ...(shardedChannels.length > 0 ? [attempt(() => sharded(shardedChannels))] : []),
      ...(plain.length > 0 || channels.length === 0 ? [attempt(() => global(plain))] : []),
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
            const sent = attempt(() => (globalChannels.has(channel) ? target.publish(channel, message) : target.spublish(channel, message)));
            if (callback) sent.then((receivers) => callback(null, receivers), (error: Error) => callback(error));
            return sent;
          };
        case 'subscribe':
          return (...args: unknown[]) =>
            split(
              args,
              (channels) => {
                channels.forEach((channel) => subscribed.add(channel));
                return target.ssubscribe(...channels);
              },
              (channels) => target.subscribe(...channels),
              { sharded: () => [] },
            );
        case 'unsubscribe':
          return (...args: unknown[]) =>
            split(
              args,
              (channels) => {
                channels.forEach((channel) => subscribed.delete(channel));
                return target.sunsubscribe(...channels);
              },
              (channels) => target.unsubscribe(...channels),
              { sharded: () => [...subscribed] },
            );
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

/**
 * A Sentinel connection whose `quit()` also disconnects it: with `failoverDetector`, ioredis 5's QUIT leaves the
 * detector's subscriptions to the sentinels open (only `disconnect()` cleans them up), so a closed client kept
 * reconnecting to the sentinels and kept its process alive (found by a test process that would not exit).
 */
export function quitClosesSentinels<T extends Redis>(client: T): T {
  if (!(client.options as { sentinels?: unknown[] }).sentinels?.length) return client;
  const quit = client.quit.bind(client) as () => Promise<'OK'>;
  client.quit = (async () => {
    try {
      return await quit();
    } finally {
      client.disconnect();
    }
  }) as T['quit'];
  return client;
}
