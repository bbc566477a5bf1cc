/*
 * Why this suite exists: unit and integration tests run producer and consumer in one process, sharing one tracer
 * provider, so they cannot show what the product promises — that two separately started services, each with its
 * own SDK bootstrap loaded the way `nx serve` loads it, export spans that join into one trace through Redis. This
 * suite starts the built apps as processes against a private redis-server and an OTLP/gRPC receiver it owns, drives
 * items-api over HTTP, and asserts the spans both processes exported.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OtlpTraceReceiver, type ReceivedSpan, type RedisTestServer, rootOf, spanTree } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { type ServedApp, type ServedStack, serveStack, WORKSPACE_ROOT } from './served-app';

const PRODUCER_SERVICE = 'items-api';
const CONSUMER_SERVICE = 'redis-consumer';

describe('one trace from items-api through Redis to redis-consumer (separate processes)', () => {
  let stack: ServedStack;
  let receiver: OtlpTraceReceiver;
  let redis: RedisTestServer;
  let consumer: ServedApp;
  let api: ServedApp;
  let baseUrl: string;

  beforeAll(async () => {
    stack = await serveStack();
    ({ receiver, redis, consumer, api, baseUrl } = stack);
  });

  afterAll(() => stack?.stop());

  let createdItem: { id: string; requestId: string; traceId: string };

  it('POST /api/items: SERVER → PRODUCER send item.created, and in the consumer CONSUMER (child of the PRODUCER) → hset', async () => {
    const requestId = `e2e-${randomUUID()}`;
    const response = await fetch(`${baseUrl}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ name: 'apple', price: 1.5 }),
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-request-id')).toBe(requestId);
    const body = (await response.json()) as { id: string; requestId: string };
    expect(body.requestId).toBe(requestId);

    const spans = await waitForSpans(receiver, [
      [PRODUCER_SERVICE, 'PRODUCER', 'send item.created'],
      [CONSUMER_SERVICE, 'CONSUMER', 'process item.created'],
      [CONSUMER_SERVICE, 'CLIENT', 'hset'],
    ]);
    const producer = only(spans, PRODUCER_SERVICE, 'send item.created');
    const trace = spans.filter((span) => span.traceId === producer.traceId);
    const server = rootOf(trace, producer);
    const process = only(trace, CONSUMER_SERVICE, 'process item.created');
    const hset = only(trace, CONSUMER_SERVICE, 'hset');

    expect(server).toMatchObject({ serviceName: PRODUCER_SERVICE, kind: 'SERVER' });
    expect(server.name).toContain('POST');
    // The PRODUCER span is the publish: the transport's own PUBLISH makes no ioredis span under it.
    expect(trace.filter((span) => span.name === 'publish')).toEqual([]);
    expect(process.parentSpanId).toBe(producer.spanId);
    expect(hset.parentSpanId).toBe(process.spanId);
    // The instrumentation scope is the package, with the version of the package that was loaded.
    const tracingPackage = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'libs', 'tracing', 'package.json'), 'utf8'));
    for (const span of [producer, process]) {
      expect(span).toMatchObject({ scopeName: '@nest-redis-otel/tracing', scopeVersion: tracingPackage.version });
    }
    for (const span of [producer, process]) {
      expect(span.attributes).toMatchObject({
        'messaging.system': 'redis',
        'messaging.destination.name': 'item.created',
      });
    }
    expect(producer.attributes).toMatchObject({ 'messaging.operation.type': 'send', 'messaging.operation.name': 'send' });
    expect(producer.attributes['messaging.message.envelope.size']).toBeGreaterThan(Buffer.byteLength(JSON.stringify({ name: 'apple', price: 1.5 })));
    expect(process.attributes).toMatchObject({ 'messaging.operation.type': 'process' });
    expect(process.attributes['messaging.message.envelope.size']).toBe(producer.attributes['messaging.message.envelope.size']);
    expect(String(hset.attributes['db.statement'] ?? hset.attributes['db.query.text'])).toContain(`item:${body.id}`);
    createdItem = { ...body, traceId: producer.traceId };
  });

  it("the logs of the request in both apps are JSON lines that carry the request's trace id", async () => {
    const stored = JSON.parse(await consumer.waitForLine((text) => text.includes(`stored item:${createdItem.id}`)));
    expect(stored).toMatchObject({
      service: 'redis-consumer',
      trace_id: createdItem.traceId,
      span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      item_id: createdItem.id,
      request_id: createdItem.requestId,
    });
    const completed = JSON.parse(
      await api.waitForLine((text) => text.includes('"request completed"') && text.includes(createdItem.requestId)),
    );
    expect(completed).toMatchObject({
      service: 'items-api',
      trace_id: createdItem.traceId,
      request_id: createdItem.requestId,
      req: { method: 'POST', url: '/api/items' },
      res: { status_code: 202 },
    });
    expect(completed.req).not.toHaveProperty('headers');
  });

  it('GET /api/items/:id: the send → reply round trip is one trace, the CONSUMER child of the PRODUCER, same message id', async () => {
    receiver.clear();
    const response = await fetch(`${baseUrl}/items/${createdItem.id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: createdItem.id,
      name: 'apple',
      price: 1.5,
      requestId: createdItem.requestId,
    });

    const spans = await waitForSpans(receiver, [
      [PRODUCER_SERVICE, 'PRODUCER', 'send item.get'],
      [CONSUMER_SERVICE, 'CONSUMER', 'process item.get'],
      [CONSUMER_SERVICE, 'CLIENT', 'hgetall'],
    ]);
    const producer = only(spans, PRODUCER_SERVICE, 'send item.get');
    const trace = spans.filter((span) => span.traceId === producer.traceId);
    const process = only(trace, CONSUMER_SERVICE, 'process item.get');
    const hgetall = only(trace, CONSUMER_SERVICE, 'hgetall');

    expect(rootOf(trace, producer)).toMatchObject({ serviceName: PRODUCER_SERVICE, kind: 'SERVER' });
    expect(process.parentSpanId).toBe(producer.spanId);
    expect(hgetall.parentSpanId).toBe(process.spanId);
    expect(producer.attributes['messaging.message.id']).toEqual(expect.any(String));
    expect(process.attributes['messaging.message.id']).toBe(producer.attributes['messaging.message.id']);
    expect(producer.status.code).not.toBe('ERROR');
    // The producer span covers the round trip: it ends after the consumer's handling does.
    expect(producer.endTimeUnixNano).toBeGreaterThanOrEqual(process.endTimeUnixNano);
  });

  it('GET /api/items/:id with the id in upper case: the same item (UUIDs are case-insensitive on input)', async () => {
    receiver.clear();
    const response = await fetch(`${baseUrl}/items/${createdItem.id.toUpperCase()}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: createdItem.id, name: 'apple' });
    // Its spans in, so that they do not reach the next test's receiver.
    await waitForSpans(receiver, [
      [PRODUCER_SERVICE, 'PRODUCER', 'send item.get'],
      [CONSUMER_SERVICE, 'CONSUMER', 'process item.get'],
      [CONSUMER_SERVICE, 'CLIENT', 'hgetall'],
    ]);
  });

  it('GET /api/items/:id of an unknown id: 404, and both spans of the round trip are marked ERROR', async () => {
    receiver.clear();
    const response = await fetch(`${baseUrl}/items/${randomUUID()}`);
    expect(response.status).toBe(404);

    const spans = await waitForSpans(receiver, [
      [PRODUCER_SERVICE, 'PRODUCER', 'send item.get'],
      [CONSUMER_SERVICE, 'CONSUMER', 'process item.get'],
    ]);
    const producer = only(spans, PRODUCER_SERVICE, 'send item.get');
    const process = only(spans, CONSUMER_SERVICE, 'process item.get');
    expect(process.parentSpanId).toBe(producer.spanId);
    expect(process.status.code).toBe('ERROR');
    expect(process.attributes['error.type']).toBe('RpcException');
    expect(producer.status.code).toBe('ERROR');
    expect(producer.attributes['error.type']).toBe('ITEM_NOT_FOUND');
  });

  it('GET /api/pub: a plain Redis subscriber gets raw JSON with a top-level traceparent of the request trace', async () => {
    receiver.clear();
    const subscriber = new Redis(redis.url);
    try {
      await subscriber.subscribe('my-channel');
      const received = once(subscriber, 'message');
      const requestId = `e2e-${randomUUID()}`;
      const response = await fetch(`${baseUrl}/pub`, { headers: { 'x-request-id': requestId } });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ published: true, requestId });

      const [channel, text] = (await received) as [string, string];
      expect(channel).toBe('my-channel');
      const message = JSON.parse(text);
      expect(message).toMatchObject({ message: 'this is my message', request_id: requestId });
      expect(message.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(message).not.toHaveProperty('pattern');
      const [, traceId, parentId] = message.traceparent.split('-');

      const spans = await waitForSpans(receiver, [
        [PRODUCER_SERVICE, 'PRODUCER', 'send my-channel'],
        [CONSUMER_SERVICE, 'CONSUMER', 'process my-channel'],
      ]);
      const producer = only(spans, PRODUCER_SERVICE, 'send my-channel');
      const process = only(spans, CONSUMER_SERVICE, 'process my-channel');
      expect(producer.traceId).toBe(traceId);
      expect(producer.spanId).toBe(parentId);
      expect(rootOf(spans.filter((span) => span.traceId === traceId), producer)).toMatchObject({
        serviceName: PRODUCER_SERVICE,
        kind: 'SERVER',
      });
      // The consumer (the tutorial's subscriber) read the same top-level keys and recorded the allowlisted fields.
      expect(process.traceId).toBe(traceId);
      expect(process.parentSpanId).toBe(producer.spanId);
      expect(process.attributes).toMatchObject({
        'messaging.payload.request_id': requestId,
        'messaging.payload.message': 'this is my message',
      });
    } finally {
      subscriber.disconnect();
    }
  });
});

type SpanKey = [service: string, kind: ReceivedSpan['kind'], name: string];

/** Waits until each listed span has arrived (at least once). */
function waitForSpans(receiver: OtlpTraceReceiver, keys: SpanKey[]): Promise<ReceivedSpan[]> {
  return receiver.waitFor(
    (spans) =>
      keys.every(([service, kind, name]) =>
        spans.some((span) => span.serviceName === service && span.kind === kind && span.name === name),
      ) && [...spans],
    15_000,
  );
}

function only(spans: ReceivedSpan[], service: string, name: string): ReceivedSpan {
  const matches = spans.filter((span) => span.serviceName === service && span.name === name);
  if (matches.length !== 1) {
    throw new Error(`Expected one ${service} "${name}" span, found ${matches.length}:\n  ${spanTree(spans)}`);
  }
  return matches[0];
}
