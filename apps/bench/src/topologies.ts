// `npm run bench:topologies`: one Redis against a 3-primary cluster (and sharded against global pub/sub), same
// process, same messages, no SDK (the topology's own cost): messages per second and Redis CPU per message on each
// node. Prints a Markdown table (`--out <file>` writes it too). On a 2-core machine the client side is the limit, so
// what the table shows about scaling is where Redis spends its CPU, not a throughput gain.
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type ClientProxy, EventPattern, Payload } from '@nestjs/microservices';
import { ClientRedisStreams, ServerRedisStreams } from '@nest-redis-otel/streams-transport';
import { type RedisTopology, TracedClientRedis, TracedServerRedis, redisTopologyOptions } from '@nest-redis-otel/tracing';
import { type HostPort, startRedisCluster, startRedisSentinel, startRedisTestServer, stopAllRedisTopologies } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';

const CHANNEL = 'bench.item.created';
const IN_FLIGHT = 64;
let onHandled: () => void = () => undefined;

@Controller()
class Handler {
  @EventPattern(CHANNEL)
  handle(@Payload() _item: unknown): void {
    onHandled();
  }
}

@Module({ controllers: [Handler] })
class BenchModule {}

interface Row {
  name: string;
  messagesPerSecond: number;
  /** Redis CPU µs per message on each primary, busiest first. */
  redisMicroseconds: number[];
}

async function redisCpu(nodes: readonly HostPort[]): Promise<number[]> {
  return Promise.all(
    nodes.map(async ({ host, port }) => {
      const redis = new Redis({ host, port });
      try {
        const info = await redis.info('cpu');
        const field = (name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? NaN);
        return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
      } finally {
        redis.disconnect();
      }
    }),
  );
}

async function measure(
  name: string,
  topology: RedisTopology,
  primaries: readonly HostPort[],
  transport: 'pubsub' | 'streams',
  messages: number,
  { partitions = 1, waitReplicas = 0 }: { partitions?: number; waitReplicas?: number } = {},
): Promise<Row> {
  const prefix = `bench-${Date.now()}:`;
  const server =
    transport === 'streams'
      ? new ServerRedisStreams({ ...topology, group: 'bench', streamPrefix: prefix, partitions, concurrency: 64 })
      : new TracedServerRedis(redisTopologyOptions(topology));
  const client: Pick<ClientProxy, 'connect' | 'close' | 'emit'> =
    transport === 'streams'
      ? new ClientRedisStreams({ ...topology, streamPrefix: prefix, partitions, waitReplicas, waitTimeoutMs: 1000 })
      : new TracedClientRedis(redisTopologyOptions(topology));
  const app = await NestFactory.createMicroservice(BenchModule, { strategy: server, logger: false });
  await app.listen();
  await client.connect();
  const run = async (count: number) => {
    let sent = 0;
    let handled = 0;
    await new Promise<void>((resolve) => {
      const next = () => {
        while (sent < count && sent - handled < IN_FLIGHT) {
          sent++;
          void lastValueFrom(client.emit(CHANNEL, { id: sent, name: 'Blue mug', price: 12.5 }));
        }
      };
      onHandled = () => {
        handled++;
        if (handled === count) resolve();
        else next();
      };
      next();
    });
  };
  await run(Math.min(5000, messages)); // warm-up
  const before = await redisCpu(primaries);
  const started = performance.now();
  await run(messages);
  const seconds = (performance.now() - started) / 1000;
  const after = await redisCpu(primaries);
  await client.close();
  await app.close();
  return {
    name,
    messagesPerSecond: messages / seconds,
    redisMicroseconds: after.map((value, index) => (value - before[index]) / messages).sort((a, b) => b - a),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, messages: { type: 'string' } } });
  const messages = Number(values.messages ?? 20_000);
  const single = await startRedisTestServer({ requirePrivate: true });
  const cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
  const sentinel = await startRedisSentinel({ replicas: 1 });
  const rows: Row[] = [];
  try {
    const one: RedisTopology = { url: single.url };
    const nodes = cluster.seeds.slice(0, 2).map(({ host, port }) => ({ host, port }));
    const primaries = await cluster.primaries();
    const singleNode = [{ host: '127.0.0.1', port: single.port }];
    for (let round = 0; round < 3; round++) {
      rows.push(await measure('pub/sub, one Redis', one, singleNode, 'pubsub', messages));
      rows.push(await measure('pub/sub, cluster of 3, sharded', { cluster: { nodes, pubsub: 'sharded' } }, primaries, 'pubsub', messages));
      rows.push(await measure('pub/sub, cluster of 3, global', { cluster: { nodes, pubsub: 'global' } }, primaries, 'pubsub', messages));
      rows.push(await measure('Streams, one Redis', one, singleNode, 'streams', messages));
      rows.push(await measure('Streams, cluster of 3, 3 partitions', { cluster: { nodes } }, primaries, 'streams', messages, { partitions: 3 }));
      const watched: RedisTopology = { sentinel: { sentinels: sentinel.sentinels, name: sentinel.masterName } };
      const primary = [await sentinel.primary()];
      rows.push(await measure('Streams, Sentinel (primary + 1 replica)', watched, primary, 'streams', messages));
      rows.push(await measure('Streams, Sentinel (primary + 1 replica), WAIT 1 replica', watched, primary, 'streams', messages, { waitReplicas: 1 }));
    }
  } finally {
    await Promise.all([single.stop(), cluster.stop(), sentinel.stop()]);
    await stopAllRedisTopologies();
  }
  const names = [...new Set(rows.map((row) => row.name))];
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const baseline = (name: string) => median(rows.filter((row) => row.name === (name.startsWith('Streams') ? 'Streams, one Redis' : 'pub/sub, one Redis')).map((row) => row.messagesPerSecond));
  const table = [
    '| Path (no SDK, 64 in flight, producer and consumer in one process) | msg/s, median of 3 | / one Redis | Redis CPU µs per message, per primary (busiest first) | all primaries |',
    '| --- | --- | --- | --- | --- |',
    ...names.map((name) => {
      const own = rows.filter((row) => row.name === name);
      const rate = median(own.map((row) => row.messagesPerSecond));
      const perNode = own[0].redisMicroseconds.map((_, index) => median(own.map((row) => row.redisMicroseconds[index])));
      const total = perNode.reduce((sum, value) => sum + value, 0);
      return `| ${name} | ${rate.toFixed(0)} | ${(rate / baseline(name)).toFixed(2)} | ${perNode.map((value) => value.toFixed(1)).join(' / ')} | ${total.toFixed(1)} |`;
    }),
  ].join('\n');
  const header = `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:topologies\`, Node ${process.version}, ${messages} messages per run.`;
  console.log(`\n${header}\n\n${table}\n`);
  if (values.out) writeFileSync(values.out, `${header}\n\n${table}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
