/*
 * The same promise as the core cross-process suite, with MESSAGING_TRANSPORT=streams in both apps: the built apps as
 * separate processes, the item messages over Redis Streams with a consumer group instead of pub/sub, and still one
 * trace from the HTTP request to the consumer's Redis commands. What only processes can show here too: that an
 * event emitted while no consumer runs is not lost (pub/sub would drop it), and that the entry is acknowledged once
 * handled.
 */
import { randomUUID } from 'node:crypto';
import { findSpan, type ReceivedSpan, rootOf, serveBuiltApp } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { type ServedStack, serveStack } from './served-app';

const STREAMS = { MESSAGING_TRANSPORT: 'streams', STREAMS_CONSUMER: 'e2e-consumer' };

describe('one trace from items-api through Redis Streams to redis-consumer (MESSAGING_TRANSPORT=streams)', () => {
  let stack: ServedStack;
  let redis: Redis;

  beforeAll(async () => {
    stack = await serveStack({ requirePrivateRedis: true, env: STREAMS });
    redis = new Redis(stack.redis.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  const spansOf = (keys: [string, ReceivedSpan['kind'], string][]) =>
    stack.receiver.waitFor(
      (spans) => keys.every(([service, kind, name]) => spans.some((s) => s.serviceName === service && s.kind === kind && s.name === name)) && [...spans],
      15_000,
    );

  let created: { id: string; traceId: string };

  it('POST /api/items: SERVER → PRODUCER (XADD) → CONSUMER (child of the PRODUCER, another process) → hset; entry acknowledged', async () => {
    const response = await fetch(`${stack.baseUrl}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'pear', price: 2 }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };

    const spans = await spansOf([
      ['items-api', 'PRODUCER', 'send item.created'],
      ['redis-consumer', 'CONSUMER', 'process item.created'],
      ['redis-consumer', 'CLIENT', 'hset'],
    ]);
    const producer = findSpan(spans, { serviceName: 'items-api', name: 'send item.created' });
    const trace = spans.filter((span) => span.traceId === producer.traceId);
    const consumer = findSpan(trace, { serviceName: 'redis-consumer', name: 'process item.created' });
    const hset = findSpan(trace, { serviceName: 'redis-consumer', name: 'hset' });

    expect(rootOf(trace, producer)).toMatchObject({ serviceName: 'items-api', kind: 'SERVER', name: 'POST /api/items' });
    expect(consumer.parentSpanId).toBe(producer.spanId);
    expect(hset.parentSpanId).toBe(consumer.spanId);
    for (const span of [producer, consumer]) {
      expect(span.attributes).toMatchObject({ 'messaging.system': 'redis', 'messaging.destination.name': 'item.created' });
    }
    expect(producer.attributes).toMatchObject({ 'messaging.operation.type': 'send', 'messaging.operation.name': 'send' });
    expect(consumer.attributes).toMatchObject({ 'messaging.operation.type': 'process' });
    // The entry's fields and values, with the trace context: the same size on both sides.
    expect(producer.attributes['messaging.message.envelope.size']).toBeGreaterThan(Buffer.byteLength(JSON.stringify({ name: 'pear', price: 2 })) + 55);
    expect(consumer.attributes['messaging.message.envelope.size']).toBe(producer.attributes['messaging.message.envelope.size']);
    // The stream entry's id, on both sides.
    expect(producer.attributes['messaging.message.id']).toMatch(/^\d+-\d+$/);
    expect(consumer.attributes['messaging.message.id']).toBe(producer.attributes['messaging.message.id']);
    expect(await redis.hget(`item:${id}`, 'name')).toBe('pear');
    expect(await redis.xlen('stream:item.created')).toBe(1);
    const [pending] = (await redis.xpending('stream:item.created', 'redis-consumer')) as [number];
    expect(pending).toBe(0);
    created = { id, traceId: producer.traceId };
  });

  it('GET /api/items/:id: send → reply over the stream and the reply list, one trace, same correlation id', async () => {
    stack.receiver.clear();
    const response = await fetch(`${stack.baseUrl}/items/${created.id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: created.id, name: 'pear', price: 2 });

    const spans = await spansOf([
      ['items-api', 'PRODUCER', 'send item.get'],
      ['redis-consumer', 'CONSUMER', 'process item.get'],
      ['redis-consumer', 'CLIENT', 'hgetall'],
    ]);
    const producer = findSpan(spans, { serviceName: 'items-api', name: 'send item.get' });
    const trace = spans.filter((span) => span.traceId === producer.traceId);
    const consumer = findSpan(trace, { serviceName: 'redis-consumer', name: 'process item.get' });
    const hgetall = findSpan(trace, { serviceName: 'redis-consumer', name: 'hgetall' });
    expect(rootOf(trace, producer)).toMatchObject({ serviceName: 'items-api', kind: 'SERVER' });
    expect(consumer.parentSpanId).toBe(producer.spanId);
    expect(hgetall.parentSpanId).toBe(consumer.spanId);
    expect(producer.status.code).not.toBe('ERROR');
    expect(consumer.attributes['messaging.message.id']).toBe(producer.attributes['messaging.message.id']);
    // The PRODUCER span lasts until the reply, pushed while the CONSUMER span runs (which then acknowledges the
    // entry, so it may end after the producer's): the two overlap.
    expect(producer.endTimeUnixNano).toBeGreaterThan(consumer.startTimeUnixNano);

  });

  it('GET /api/items/:id of an unknown id: 404, and both spans of the round trip are marked ERROR', async () => {
    stack.receiver.clear();
    const missing = await fetch(`${stack.baseUrl}/items/${randomUUID()}`);
    expect(missing.status).toBe(404);
    const spans = await spansOf([
      ['items-api', 'PRODUCER', 'send item.get'],
      ['redis-consumer', 'CONSUMER', 'process item.get'],
    ]);
    const producer = findSpan(spans, { serviceName: 'items-api', name: 'send item.get' });
    const consumer = findSpan(spans, { serviceName: 'redis-consumer', name: 'process item.get' });
    expect(consumer.parentSpanId).toBe(producer.spanId);
    expect([producer.status.code, consumer.status.code]).toEqual(['ERROR', 'ERROR']);
    // Answered with the error: acknowledged, not left for a redelivery.
    const [pending] = (await redis.xpending('stream:item.get', 'redis-consumer')) as [number];
    expect(pending).toBe(0);
  });

  it('redis-consumer GET /health: 200 while its stream reader reads, 503 while Redis is away, 200 again after', async () => {
    const health = async () => {
      const response = await fetch(stack.consumerHealthUrl);
      return { status: response.status, body: (await response.json()) as { status: string; reason?: string } };
    };
    expect(await health()).toEqual({ status: 200, body: { status: 'ok' } });
    let whileDown: Awaited<ReturnType<typeof health>> | undefined;
    await stack.redis.restart(async () => {
      whileDown = await health();
    });
    expect(whileDown).toMatchObject({ status: 503, body: { status: 'unavailable' } });
    const deadline = Date.now() + 15_000;
    let after = await health();
    while (after.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200)); // reconnection has no event outside the process
      after = await health();
    }
    expect(after).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('an event emitted while redis-consumer is down is handled once it is back (pub/sub would have lost it)', async () => {
    await stack.consumer.stop();
    const response = await fetch(`${stack.baseUrl}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kept while down' }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(await redis.exists(`item:${id}`)).toBe(0);

    const restarted = await serveBuiltApp(
      'redis-consumer',
      { ...STREAMS, REDIS_URL: stack.redis.url, OTEL_EXPORTER_OTLP_ENDPOINT: stack.receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50', HEALTH_PORT: '0' },
      'redis-consumer subscribed',
    );
    try {
      await restarted.waitForLine((line) => line.includes(`stored item:${id}`));
      expect(await redis.hget(`item:${id}`, 'name')).toBe('kept while down');
    } finally {
      await restarted.stop();
    }
  });
});
