/*
 * Why this suite exists: every other suite runs against one redis-server, but teams run Redis Sentinel and Redis
 * Cluster, where a connection is made through sentinels or seed nodes, channels and streams live on a shard, and a
 * request's reply comes back on another connection. This suite starts both apps as processes against a local
 * Sentinel set-up and a local 3-primary cluster (started and stopped here), in both transports, and asserts the
 * cross-process trace (POST → emit → store, GET → send → reply), the node named on the spans, and that the
 * tutorial's channel stays readable by a plain subscriber.
 */
import { once } from 'node:events';
import {
  findFreePort,
  type LocalRedisCluster,
  type LocalRedisSentinel,
  OtlpTraceReceiver,
  type ReceivedSpan,
  rootOf,
  serveBuiltApp,
  type ServedApp,
  startRedisCluster,
  startRedisSentinel,
  stopAllRedisTopologies,
} from '@nest-redis-otel/testing';
import { Cluster, Redis } from 'ioredis';

const PRODUCER_SERVICE = 'items-api';
const CONSUMER_SERVICE = 'redis-consumer';

type Topology = 'sentinel' | 'cluster';
type Transport = 'pubsub' | 'streams';

const CASES: [Topology, Transport][] = [
  ['sentinel', 'pubsub'],
  ['sentinel', 'streams'],
  ['cluster', 'pubsub'],
  ['cluster', 'streams'],
];
const PARTITIONS = 3;

describe.each(CASES)('one trace across the apps on Redis %s, %s', (topology, transport) => {
  let sentinel: LocalRedisSentinel | undefined;
  let cluster: LocalRedisCluster | undefined;
  let receiver: OtlpTraceReceiver;
  const apps: ServedApp[] = [];
  let baseUrl: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    receiver = await OtlpTraceReceiver.start();
    if (topology === 'sentinel') {
      sentinel = await startRedisSentinel();
      env = { REDIS_SENTINELS: sentinel.sentinels.map(({ host, port }) => `${host}:${port}`).join(','), REDIS_SENTINEL_NAME: sentinel.masterName };
    } else {
      cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
      // Two seeds: the client discovers the rest.
      env = { REDIS_CLUSTER_NODES: cluster.seeds.slice(0, 2).map(({ host, port }) => `${host}:${port}`).join(',') };
    }
    env = {
      ...env,
      MESSAGING_TRANSPORT: transport,
      ...(transport === 'streams' && topology === 'cluster' && { STREAMS_PARTITIONS: String(PARTITIONS) }),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      LOG_FORMAT: 'json',
    };
    const [port, healthPort] = [await findFreePort(), await findFreePort()];
    apps.push(await serveBuiltApp('redis-consumer', { ...env, HEALTH_PORT: String(healthPort) }, 'redis-consumer subscribed'));
    apps.push(await serveBuiltApp('items-api', { ...env, PORT: String(port) }, 'items-api listening'));
    baseUrl = `http://127.0.0.1:${port}/api`;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await Promise.all([receiver?.stop(), sentinel?.stop(), cluster?.stop()]);
    await stopAllRedisTopologies();
  });

  let created: { id: string; traceId: string };

  it('POST /api/items: PRODUCER send item.created → CONSUMER (its child, in the other process) (→ hset), naming the node that carried it', async () => {
    const response = await fetch(`${baseUrl}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'apple', price: 1.5 }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };

    // The ioredis instrumentation records commands of a `Redis`, not of a `Cluster` (docs/transports.md): the
    // repository's HSET shows under the CONSUMER span with Sentinel only.
    const spans = await waitForSpans(receiver, [
      [PRODUCER_SERVICE, 'PRODUCER', 'send item.created'],
      [CONSUMER_SERVICE, 'CONSUMER', 'process item.created'],
      ...(topology === 'sentinel' ? [[CONSUMER_SERVICE, 'CLIENT', 'hset'] as [string, string, string]] : []),
    ]);
    const producer = only(spans, PRODUCER_SERVICE, 'send item.created');
    const trace = spans.filter((span) => span.traceId === producer.traceId);
    const consumer = only(trace, CONSUMER_SERVICE, 'process item.created');
    expect(rootOf(trace, producer)).toMatchObject({ serviceName: PRODUCER_SERVICE, kind: 'SERVER' });
    expect(consumer.parentSpanId).toBe(producer.spanId);
    if (topology === 'sentinel') expect(only(trace, CONSUMER_SERVICE, 'hset').parentSpanId).toBe(consumer.spanId);

    // The node named on both spans is the primary that holds the channel (sharded) or the stream.
    const primaries = await primaryAddresses();
    for (const span of [producer, consumer]) {
      const node = `${span.attributes['server.address']}:${span.attributes['server.port']}`;
      expect(primaries).toContain(node);
    }
    if (cluster) {
      const keys = transport === 'pubsub' ? ['item.created'] : await streamsOf('item.created');
      if (transport === 'streams') expect(keys).toHaveLength(PARTITIONS);
      const owners = await Promise.all(keys.map((key) => ownerOf(key)));
      expect(owners).toContain(`${producer.attributes['server.address']}:${producer.attributes['server.port']}`);
      expect(consumer.attributes['server.port']).toBe(producer.attributes['server.port']);
    }
    created = { id, traceId: producer.traceId };
  });

  it('GET /api/items/:id: the send → reply round trip is one trace, the CONSUMER the child of the PRODUCER', async () => {
    receiver.clear();
    const response = await fetch(`${baseUrl}/items/${created.id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: created.id, name: 'apple', price: 1.5 });
    const spans = await waitForSpans(receiver, [
      [PRODUCER_SERVICE, 'PRODUCER', 'send item.get'],
      [CONSUMER_SERVICE, 'CONSUMER', 'process item.get'],
    ]);
    const producer = only(spans, PRODUCER_SERVICE, 'send item.get');
    const consumer = only(spans, CONSUMER_SERVICE, 'process item.get');
    expect(consumer.traceId).toBe(producer.traceId);
    expect(consumer.parentSpanId).toBe(producer.spanId);
    expect(producer.status.code).not.toBe('ERROR');
  });

  if (transport === 'pubsub') {
    it("GET /api/pub: a plain SUBSCRIBE on any node gets the tutorial's message with the request's traceparent", async () => {
      receiver.clear();
      const node = sentinel ? await sentinel.primary() : (await requireCluster().primaries())[2];
      const subscriber = new Redis({ host: node.host, port: node.port });
      try {
        await subscriber.subscribe('my-channel');
        const received = once(subscriber, 'message');
        const response = await fetch(`${baseUrl}/pub`);
        expect(response.status).toBe(202);
        const [, text] = (await received) as [string, string];
        const message = JSON.parse(text) as { traceparent: string };
        const spans = await waitForSpans(receiver, [[PRODUCER_SERVICE, 'PRODUCER', 'send my-channel']]);
        const producer = only(spans, PRODUCER_SERVICE, 'send my-channel');
        expect(message.traceparent).toBe(`00-${producer.traceId}-${producer.spanId}-01`);
      } finally {
        subscriber.disconnect();
      }
    });
  }

  /** `host:port` of every primary now. */
  async function primaryAddresses(): Promise<string[]> {
    const nodes = sentinel ? [await sentinel.primary()] : await requireCluster().primaries();
    return nodes.map(({ host, port }) => `${host}:${port}`);
  }

  function requireCluster(): LocalRedisCluster {
    if (!cluster) throw new Error('not a cluster case');
    return cluster;
  }

  /** The streams of `pattern` on the cluster's primaries (its partitions). */
  async function streamsOf(pattern: string): Promise<string[]> {
    const found: string[] = [];
    for (const { host, port } of await requireCluster().primaries()) {
      const node = new Redis({ host, port });
      try {
        found.push(...(await node.keys(`stream:${pattern}:*`)));
      } finally {
        node.disconnect();
      }
    }
    return found;
  }

  /** `host:port` of the primary that owns `key`'s slot, as a cluster client learns it. */
  async function ownerOf(key: string): Promise<string> {
    const client = new Cluster(requireCluster().seeds.map(({ host, port }) => ({ host, port })));
    try {
      await client.ping();
      const slot = Number(await client.cluster('KEYSLOT', key));
      return (client as unknown as { slots: string[][] }).slots[slot][0];
    } finally {
      client.disconnect();
    }
  }
});

async function waitForSpans(receiver: OtlpTraceReceiver, wanted: [string, string, string][]): Promise<ReceivedSpan[]> {
  return receiver.waitFor(
    (spans) =>
      wanted.every(([service, kind, name]) => spans.some((span) => span.serviceName === service && span.kind === kind && span.name === name)) && spans,
    20_000,
  );
}

function only(spans: ReceivedSpan[], service: string, name: string): ReceivedSpan {
  const found = spans.filter((span) => span.serviceName === service && span.name === name);
  if (found.length !== 1) throw new Error(`expected one "${name}" span of ${service}, got ${found.length}`);
  return found[0];
}
