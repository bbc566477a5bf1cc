/*
 * Why this suite exists: `waitReplicas` is the knob that closes the window in which a failover loses an entry Redis
 * had acknowledged (replication is asynchronous). Only a real primary with a real replica shows that the WAIT runs on
 * the connection that carried the XADD (a WAIT elsewhere confirms nothing), that a confirmed entry is on the replica,
 * and that an entry the replicas do not confirm fails the emit instead of passing for durable. Then the same on a
 * cluster, where the WAIT must go to the stream's own primary.
 */
import 'reflect-metadata';
import { type LocalRedisCluster, type LocalRedisSentinel, startRedisCluster, startRedisSentinel, stopAllRedisTopologies } from '@nest-redis-otel/testing';
import { useInMemoryTracing } from '@nest-redis-otel/testing/in-memory-tracing';
import { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import { ClientRedisStreams } from './client-redis-streams';

useInMemoryTracing();

describe('ClientRedisStreams with waitReplicas', () => {
  let sentinel: LocalRedisSentinel;
  let cluster: LocalRedisCluster;

  beforeAll(async () => {
    [sentinel, cluster] = await Promise.all([startRedisSentinel({ replicas: 1 }), startRedisCluster({ primaries: 3, replicasPerPrimary: 1 })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([sentinel?.stop(), cluster?.stop()]);
    await stopAllRedisTopologies();
  });

  const sentinelTopology = () => ({ sentinel: { sentinels: sentinel.sentinels, name: sentinel.masterName } });

  it('an entry confirmed by its replica is on the replica when the emit resolves', async () => {
    const client = new ClientRedisStreams({ ...sentinelTopology(), streamPrefix: 'wait-1:', waitReplicas: 1, waitTimeoutMs: 2000 });
    try {
      await lastValueFrom(client.emit('durable', { n: 1 }), { defaultValue: undefined });
      const primary = await sentinel.primary();
      const replica = sentinel.nodes.find((node) => node.port !== primary.port);
      const reader = new Redis({ host: replica?.host, port: replica?.port });
      try {
        // No polling: the WAIT already had the replica confirm it.
        expect(await reader.xlen('wait-1:durable')).toBe(1);
      } finally {
        reader.disconnect();
      }
    } finally {
      await client.close();
    }
  });

  it('an entry fewer replicas confirm than asked fails the emit, naming the count', async () => {
    const client = new ClientRedisStreams({ ...sentinelTopology(), streamPrefix: 'wait-2:', waitReplicas: 2, waitTimeoutMs: 200 });
    try {
      await expect(lastValueFrom(client.emit('durable', { n: 2 }), { defaultValue: undefined })).rejects.toThrow(
        /reached 1 of 2 replica\(s\) within 200 ms: not confirmed durable/,
      );
    } finally {
      await client.close();
    }
  });

  it('on a cluster, the WAIT goes to the primary of each partition and its replica confirms', async () => {
    const client = new ClientRedisStreams({ cluster: { nodes: cluster.seeds.slice(0, 2) }, streamPrefix: 'wait-3:', partitions: 3, waitReplicas: 1, waitTimeoutMs: 2000 });
    try {
      for (let n = 0; n < 6; n++) await lastValueFrom(client.emit('durable', { n }), { defaultValue: undefined });
    } finally {
      await client.close();
    }
    // Two entries per partition, each on one of the three shards.
    const lengths: number[] = [];
    for (const primary of await cluster.primaries()) {
      const node = new Redis(primary);
      try {
        const keys = await node.keys('wait-3:durable:*');
        expect(keys).toHaveLength(1);
        lengths.push(await node.xlen(keys[0]));
      } finally {
        node.disconnect();
      }
    }
    expect(lengths).toEqual([2, 2, 2]);
  });

  it('refuses a count or a timeout out of range, naming the option', () => {
    expect(() => new ClientRedisStreams({ waitReplicas: -1 })).toThrow('waitReplicas=-1 is invalid: expected an integer from 0 to 16');
    expect(() => new ClientRedisStreams({ waitReplicas: 1, waitTimeoutMs: 0 })).toThrow('waitTimeoutMs=0 is invalid: expected an integer from 1 to 60000');
  });
});
