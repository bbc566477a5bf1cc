/*
 * Why this suite exists: on a Redis Cluster, Nest's Redis transport runs on an ioredis `Cluster` seen through the
 * sharded pub/sub adapter (SPUBLISH/SSUBSCRIBE, "smessage"), which Nest knows nothing of. Only a real cluster shows
 * that events, requests and their replies (on another shard's channel), the plain channels kept global, a failover
 * of the primary that owns the channel, and a close after that failover (it once threw inside ioredis) all work.
 */
import 'reflect-metadata';
import { EventEmitter } from 'node:events';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { type LocalRedisCluster, pollUntil, startRedisCluster, stopAllRedisTopologies, waitUntil } from '@nest-redis-otel/testing';
import { SpanKind } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { firstValueFrom, lastValueFrom, timeout } from 'rxjs';
import { useInMemoryTracing } from '../../test/in-memory-tracing';
import { TracedServerRedis } from '../server/traced-server-redis';
import { redisTopologyOptions } from './redis-connection.options';
import { TracedClientRedis } from './traced-client-redis';

const tracing = useInMemoryTracing();
const received: { pattern: string; data: unknown }[] = [];
const handled = new EventEmitter();
const handledOf = (check: () => boolean, what: string) =>
  waitUntil(handled, 'message', check, { timeoutMs: 10_000, what, describeState: () => JSON.stringify(received) });

@Controller()
class ClusterController {
  @EventPattern('cluster.created')
  created(@Payload() data: unknown): void {
    received.push({ pattern: 'cluster.created', data });
    handled.emit('message');
  }

  @EventPattern('plain-channel')
  plain(@Payload() data: unknown): void {
    received.push({ pattern: 'plain-channel', data });
    handled.emit('message');
  }

  @MessagePattern('cluster.get')
  get(@Payload() data: { id: number }): { id: number; served: true } {
    return { ...data, served: true };
  }
}

@Module({ controllers: [ClusterController] })
class ClusterModule {}

describe('the traced Redis transport on a 3-primary Redis Cluster (sharded pub/sub)', () => {
  let cluster: LocalRedisCluster;
  let microservice: INestMicroservice;
  let server: TracedServerRedis;
  let client: TracedClientRedis;

  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    const topology = { cluster: { nodes: cluster.seeds.slice(0, 2), globalChannels: ['plain-channel'] } };
    server = new TracedServerRedis(redisTopologyOptions(topology));
    microservice = await NestFactory.createMicroservice(ClusterModule, { strategy: server, logger: false });
    await microservice.listen();
    client = new TracedClientRedis(redisTopologyOptions(topology));
    await client.connect();
  }, 60_000);

  afterEach(() => {
    received.length = 0;
  });

  afterAll(async () => {
    await client?.close();
    await microservice?.close();
    await cluster?.stop();
    await stopAllRedisTopologies();
  });

  it('an event goes by SPUBLISH to the shard of its channel, with the PRODUCER → CONSUMER trace and that node on both spans', async () => {
    await lastValueFrom(client.emit('cluster.created', { id: 1 }));
    await handledOf(() => received.length === 1, 'the event handled');
    const spans = await tracing.waitForSpans((all) => all.filter((span) => span.name.endsWith('cluster.created')).length === 2 && all);
    const producer = spans.find((span) => span.kind === SpanKind.PRODUCER && span.name === 'send cluster.created');
    const consumer = spans.find((span) => span.kind === SpanKind.CONSUMER && span.name === 'process cluster.created');
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    const owner = await primaryOfChannel('cluster.created');
    for (const span of [producer, consumer]) {
      expect(span?.attributes).toMatchObject({ 'server.address': owner.host, 'server.port': owner.port });
    }
    // Sharded: the channel is a shard channel of its owner, and no node has it as a plain channel.
    const node = new Redis(owner);
    try {
      expect(await node.pubsub('SHARDCHANNELS')).toContain('cluster.created');
      expect(await node.pubsub('CHANNELS')).not.toContain('cluster.created');
    } finally {
      node.disconnect();
    }
  });

  it('a request is answered on its reply channel (another slot, maybe another shard)', async () => {
    await expect(firstValueFrom(client.send('cluster.get', { id: 7 }).pipe(timeout(5000)))).resolves.toEqual({ id: 7, served: true });
  });

  it('a channel kept global is reached by a plain PUBLISH on any node, as a plain publisher of another runtime does', async () => {
    const [, , third] = await cluster.primaries();
    const publisher = new Redis(third);
    try {
      const handledNow = handledOf(() => received.length > 0, 'the plain message handled');
      await publisher.publish('plain-channel', JSON.stringify({ pattern: 'plain-channel', data: { hello: 1 } }));
      await handledNow;
    } finally {
      publisher.disconnect();
    }
    expect(received[0]).toEqual({ pattern: 'plain-channel', data: { hello: 1 } });
  });

  it('wildcards (pattern subscriptions) are refused with sharded pub/sub, naming the way out', () => {
    expect(() => new TracedServerRedis({ ...redisTopologyOptions({ cluster: { nodes: cluster.seeds } }), wildcards: true })).toThrow(
      'wildcards (pattern subscriptions) do not exist in sharded pub/sub: use the cluster pub/sub mode "global"',
    );
  });

  it("after a failover of the channel's primary, events and requests flow again, and closing does not throw", async () => {
    const { promoted } = await cluster.killPrimaryOf('cluster.created');
    // Events published while the client still followed the old primary are lost (pub/sub keeps nothing): emit until one is handled.
    await pollUntil(
      async () => {
        await lastValueFrom(client.emit('cluster.created', { id: 2 })).catch(() => undefined);
        return received.some((message) => (message.data as { id: number }).id === 2);
      },
      { timeoutMs: 20_000, what: 'an event handled after the failover', intervalMs: 200 },
    );
    await expect(firstValueFrom(client.send('cluster.get', { id: 8 }).pipe(timeout(5000)))).resolves.toEqual({ id: 8, served: true });
    expect(await primaryOfChannel('cluster.created')).toEqual(promoted);
    // It once threw in ioredis (SUNSUBSCRIBE with no channel has no slot): the server names its channels instead.
    await expect(microservice.close()).resolves.toBeUndefined();
  }, 60_000);

  /** The primary that owns `channel`'s slot now. */
  async function primaryOfChannel(channel: string): Promise<{ host: string; port: number }> {
    const [first] = await cluster.primaries();
    const node = new Redis(first);
    try {
      const slot = Number(await node.cluster('KEYSLOT', channel));
      const shards = (await node.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      const [, , [host, port]] = shards.find(([from, to]) => slot >= from && slot <= to) as [number, number, [string, number]];
      return { host, port };
    } finally {
      node.disconnect();
    }
  }
});
