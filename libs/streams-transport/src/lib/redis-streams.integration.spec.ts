/*
 * The Streams transport against a real redis-server: what a mock could not show is Redis's own bookkeeping — the
 * group's pending entries, their delivery counts, XAUTOCLAIM — agreeing with what the transport promises: nothing
 * acknowledged before its handler succeeded, nothing lost when a consumer dies, poison set aside, and one trace from
 * PRODUCER to CONSUMER across the stream.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { startRedisTestServer, type RedisTestServer } from '@nest-redis-otel/testing';
import { parentSpanIdOf, spanIdOf, traceIdOf, useInMemoryTracing } from '@nest-redis-otel/testing/in-memory-tracing';
import { RedisRecord } from '@nest-redis-otel/tracing';
import { Redis } from 'ioredis';
import { lastValueFrom, timeout, TimeoutError } from 'rxjs';
import { ClientRedisStreams } from './client/client-redis-streams';
import { RedisStreamsContext, ServerRedisStreams, type ServerRedisStreamsOptions } from './server/server-redis-streams';

const tracing = useInMemoryTracing();
const WAIT_MS = 10_000;

/** What the handlers saw, as events a test can await. */
const handled = new EventEmitter();
interface Call {
  data: { run: string; [key: string]: unknown };
  deliveries: number;
  entryId: string;
  spanId?: string;
}
/** How many times the next deliveries of a run must fail before one succeeds. */
const failuresLeft = new Map<string, number>();

@Controller()
class TestController {
  @EventPattern('test.event')
  onEvent(@Payload() data: Call['data'], @Ctx() ctx: RedisStreamsContext): void {
    const left = failuresLeft.get(data.run) ?? 0;
    const call: Call = { data, deliveries: ctx.getDeliveryCount(), entryId: ctx.getEntryId(), spanId: trace.getActiveSpan()?.spanContext().spanId };
    if (left > 0) {
      failuresLeft.set(data.run, left - 1);
      handled.emit('failed', call);
      throw new Error('handler failed');
    }
    handled.emit('event', call);
  }

  @MessagePattern('test.request')
  onRequest(@Payload() data: { n: number }): { doubled: number } {
    if (data.n < 0) throw new RpcException({ code: 'NEGATIVE', message: 'no negatives' });
    return { doubled: data.n * 2 };
  }
}

@Module({ controllers: [TestController] })
class TestModule {}

/** Resolves with the first call of `event` for `run`. */
function callOf(run: string, event: 'event' | 'failed' = 'event'): Promise<Call> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} for ${run} within ${WAIT_MS} ms`)), WAIT_MS);
    const listener = (call: Call) => {
      if (call.data.run !== run) return;
      clearTimeout(timer);
      handled.off(event, listener);
      resolve(call);
    };
    handled.on(event, listener);
  });
}

describe('Redis Streams transport against a real Redis', () => {
  let redis: RedisTestServer;
  let plain: Redis;
  const started: INestMicroservice[] = [];
  const clients: ClientRedisStreams[] = [];
  /** Each test its own streams and group, so that tests never see each other's entries. */
  let prefix: string;

  beforeAll(async () => {
    redis = await startRedisTestServer({ requirePrivate: true });
    plain = new Redis(redis.url);
  });

  beforeEach(() => {
    prefix = `test-${randomUUID().slice(0, 8)}:`;
  });

  afterEach(async () => {
    await Promise.all([...started.splice(0).map((app) => app.close()), ...clients.splice(0).map((client) => client.close())]);
  });

  afterAll(async () => {
    plain.disconnect();
    await redis.stop();
  });

  async function startServer(options: Partial<ServerRedisStreamsOptions> = {}): Promise<ServerRedisStreams> {
    const server = new ServerRedisStreams({ url: redis.url, streamPrefix: prefix, consumer: 'c1', blockMs: 200, claimIdleMs: 200, ...options });
    const app = await NestFactory.createMicroservice(TestModule, { strategy: server, logger: false });
    await app.listen();
    started.push(app);
    return server;
  }

  function client(): ClientRedisStreams {
    const created = new ClientRedisStreams({ url: redis.url, streamPrefix: prefix });
    clients.push(created);
    return created;
  }

  const emit = (run: string, extra: Record<string, unknown> = {}) => lastValueFrom(client().emit('test.event', { run, ...extra }), { defaultValue: undefined });
  const pendingCount = async (stream = `${prefix}test.event`, group = 'consumers') => ((await plain.xpending(stream, group)) as [number])[0];

  it('emit → handler: the CONSUMER span is the child of the PRODUCER span, same entry id, and the entry is acknowledged', async () => {
    await startServer();
    const run = randomUUID();
    const parent = trace.getTracer('test').startSpan('request');
    const call = callOf(run);
    await context.with(trace.setSpan(context.active(), parent), () => emit(run));
    parent.end();
    const { entryId, deliveries, spanId } = await call;

    const consumer = await tracing.waitForSpan((span) => spanIdOf(span) === spanId);
    const producer = await tracing.waitForSpan((span) => span.kind === SpanKind.PRODUCER && traceIdOf(span) === parent.spanContext().traceId);
    expect(producer.name).toBe('send test.event');
    expect(parentSpanIdOf(producer)).toBe(parent.spanContext().spanId);
    expect(consumer).toMatchObject({ name: 'process test.event', kind: SpanKind.CONSUMER });
    expect(parentSpanIdOf(consumer)).toBe(spanIdOf(producer));
    expect(traceIdOf(consumer)).toBe(parent.spanContext().traceId);
    expect(producer.attributes).toMatchObject({ 'messaging.system': 'redis', 'messaging.destination.name': 'test.event', 'messaging.message.id': entryId });
    expect(consumer.attributes).toMatchObject({ 'messaging.operation.type': 'process', 'messaging.message.id': entryId });
    expect(consumer.attributes['messaging.message.envelope.size']).toBeGreaterThan(55); // with its traceparent
    expect(consumer.attributes['messaging.message.envelope.size']).toBe(producer.attributes['messaging.message.envelope.size']);
    expect(consumer.attributes).not.toHaveProperty(['messaging.redis.message.delivery_count']);
    expect(deliveries).toBe(1);
    await tracing.waitForSpans(() => true);
    expect(await waitForPending(0)).toBe(0);
  });

  it('send → reply: the value, or the RpcException for the caller, under a PRODUCER span that covers the round trip', async () => {
    await startServer();
    const requests = client();
    await expect(lastValueFrom(requests.send('test.request', { n: 21 }))).resolves.toEqual({ doubled: 42 });
    await expect(lastValueFrom(requests.send('test.request', { n: -1 }))).rejects.toMatchObject({ code: 'NEGATIVE', message: 'no negatives' });

    const producers = await tracing.waitForSpans((spans) => {
      const found = spans.filter((span) => span.kind === SpanKind.PRODUCER && span.name === 'send test.request');
      return found.length === 2 && found;
    });
    const ok = producers.find((span) => span.status.code === SpanStatusCode.UNSET);
    const failed = producers.find((span) => span.status.code === SpanStatusCode.ERROR);
    if (!ok || !failed) throw new Error('expected one successful and one failed request');
    const consumers = await tracing.waitForSpans((spans) => {
      const found = spans.filter((span) => span.kind === SpanKind.CONSUMER && span.name === 'process test.request');
      return found.length === 2 && found;
    });
    for (const consumer of consumers) expect([spanIdOf(ok), spanIdOf(failed)]).toContain(parentSpanIdOf(consumer));
    expect(failed.attributes['error.type']).toBe('NEGATIVE');
    expect(await waitForPending(0, `${prefix}test.request`)).toBe(0); // both answered, both acknowledged
  });

  it('send with no consumer running: the caller’s timeout fails it, the PRODUCER span ends ERROR, the client still works', async () => {
    const requests = client();
    await expect(lastValueFrom(requests.send('test.request', { n: 1 }).pipe(timeout(300)))).rejects.toBeInstanceOf(TimeoutError);
    const failed = await tracing.waitForSpan((span) => span.kind === SpanKind.PRODUCER && span.name === 'send test.request');
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes['error.type']).toBe('NoReplyError');
    // The request stays in the stream: a consumer that starts later handles it, and its late reply is dropped.
    await startServer();
    await expect(lastValueFrom(requests.send('test.request', { n: 4 }).pipe(timeout(WAIT_MS)))).resolves.toEqual({ doubled: 8 });
  });

  it('entries added before the first consumer ever started are handled (the group starts at the beginning)', async () => {
    const run = randomUUID();
    await emit(run);
    const call = callOf(run);
    await startServer();
    expect((await call).data.run).toBe(run);
  });

  it('a consumer that restarts first handles the entries it had read and not acknowledged (delivery count 2)', async () => {
    await startServer({ consumer: 'c1' });
    await started.pop()?.close(); // the group exists; nobody reads now
    const run = randomUUID();
    await emit(run);
    // c1 reads the entry, then "crashes" before acknowledging it.
    await plain.xreadgroup('GROUP', 'consumers', 'c1', 'COUNT', 10, 'STREAMS', `${prefix}test.event`, '>');
    expect(await pendingCount()).toBe(1);

    const call = callOf(run);
    await startServer({ consumer: 'c1', claimIdleMs: 60_000 }); // no claiming: its own pending entries only
    const { deliveries, spanId } = await call;
    expect(deliveries).toBe(2);
    const consumer = await tracing.waitForSpan((span) => spanIdOf(span) === spanId);
    expect(consumer.attributes['messaging.redis.message.delivery_count']).toBe(2);
    expect(await waitForPending(0)).toBe(0);
  });

  it("entries stuck on a dead consumer are claimed by a live one after the idle time, and handled once", async () => {
    await startServer();
    await started.pop()?.close();
    const run = randomUUID();
    await emit(run);
    await plain.xreadgroup('GROUP', 'consumers', 'dead', 'COUNT', 10, 'STREAMS', `${prefix}test.event`, '>');

    const calls: Call[] = [];
    const collect = (call: Call) => call.data.run === run && calls.push(call);
    handled.on('event', collect);
    try {
      const call = callOf(run);
      await startServer({ consumer: 'alive', claimIdleMs: 100 });
      expect((await call).deliveries).toBe(2);
      expect(await waitForPending(0)).toBe(0);
      expect(calls).toHaveLength(1);
    } finally {
      handled.off('event', collect);
    }
  });

  it('a handler that fails leaves its entry pending; it is delivered again and acknowledged once it succeeds', async () => {
    await startServer({ claimIdleMs: 100 });
    const run = randomUUID();
    failuresLeft.set(run, 1);
    const failed = callOf(run, 'failed');
    const succeeded = callOf(run);
    await emit(run);
    const first = await failed;
    const second = await succeeded;
    expect([first.deliveries, second.deliveries]).toEqual([1, 2]);
    expect(second.entryId).toBe(first.entryId);
    const spans = await tracing.waitForSpans((ended) => {
      const both = ended.filter((span) => span.kind === SpanKind.CONSUMER && [first.spanId, second.spanId].includes(spanIdOf(span)));
      return both.length === 2 && both;
    });
    expect(spans.find((span) => spanIdOf(span) === first.spanId)?.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans.find((span) => spanIdOf(span) === second.spanId)?.status.code).toBe(SpanStatusCode.UNSET);
    expect(await waitForPending(0)).toBe(0);
  });

  it('poison: an entry delivered more than maxDeliveries times goes to the dead-letter stream, acknowledged, unhandled', async () => {
    const deadLetterStream = `${prefix}dead-letters`;
    await startServer({ claimIdleMs: 100, maxDeliveries: 2, deadLetterStream });
    const run = randomUUID();
    failuresLeft.set(run, 1000);
    await emit(run);
    const letter = await waitFor(async () => {
      const entries = await plain.xrange(deadLetterStream, '-', '+');
      return entries.length > 0 && entries[0];
    });
    const fields = Object.fromEntries(chunk(letter[1]));
    expect(fields).toMatchObject({ stream: `${prefix}test.event`, kind: 'poison' });
    expect(fields['reason']).toContain('delivered 3 times');
    expect(JSON.parse(fields['fields'])).toContain(JSON.stringify({ run }));
    expect(await waitForPending(0)).toBe(0);
    expect(failuresLeft.get(run)).toBe(998); // two failed deliveries, no third run of the handler
  });

  it('bad entries (data not JSON, a prototype key, nested thousands of levels deep, no pattern, a foreign pattern, a reply key not ours) are dead-lettered; the next good one is handled', async () => {
    const deadLetterStream = `${prefix}dead-letters`;
    await startServer({ deadLetterStream });
    const stream = `${prefix}test.event`;
    await plain.xadd(stream, '*', 'pattern', 'test.event', 'data', '{not json');
    await plain.xadd(stream, '*', 'pattern', 'test.event', 'data', '{"__proto__":{"admin":true}}');
    await plain.xadd(stream, '*', 'pattern', 'test.event', 'data', `{"run":${'['.repeat(3000)}${']'.repeat(3000)}}`);
    await plain.xadd(stream, '*', 'data', '{}');
    await plain.xadd(stream, '*', 'pattern', 'other.event', 'data', '{}');
    // A request whose reply would be pushed into one of the application's keys.
    await plain.xadd(`${prefix}test.request`, '*', 'pattern', 'test.request', 'data', '{"n":1}', 'id', 'x', 'reply', 'item:victim');
    const run = randomUUID();
    const call = callOf(run);
    await emit(run);
    await call;
    const kinds = await waitFor(async () => {
      const entries = await plain.xrange(deadLetterStream, '-', '+');
      return entries.length === 6 && entries.map(([, fields]) => Object.fromEntries(chunk(fields))['kind']);
    });
    expect([...kinds].sort()).toEqual(['malformed', 'malformed', 'not-json', 'prototype-key', 'too-deep', 'unknown-pattern']);
    expect(await plain.exists('item:victim')).toBe(0);
    expect(await waitForPending(0)).toBe(0);
  });

  it('raw entries written the tutorial way (a traceparent field) continue that trace', async () => {
    await startServer();
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const run = randomUUID();
    const call = callOf(run);
    await plain.xadd(`${prefix}test.event`, '*', 'pattern', 'test.event', 'data', JSON.stringify({ run }), 'traceparent', `00-${traceId}-b7ad6b7169203331-01`);
    const { spanId } = await call;
    const consumer = await tracing.waitForSpan((span) => spanIdOf(span) === spanId);
    expect(traceIdOf(consumer)).toBe(traceId);
    expect(parentSpanIdOf(consumer)).toBe('b7ad6b7169203331');
  });

  it('Redis restarting (its data lost) does not stop the loop: the group is created again and new entries are handled', async () => {
    const server = await startServer();
    await redis.restart();
    const run = randomUUID();
    const call = callOf(run);
    // The client reconnects; the first XADD may meet the restart.
    await waitFor(async () => (await emit(run).then(() => true, () => false)));
    await call;
    expect(await server.readiness()).toEqual({ ready: true });
  });

  it('an entry whose caller timed out while Redis was stalled is added when Redis resumes, then dead-lettered as expired, unhandled', async () => {
    const deadLetterStream = `${prefix}dead-letters`;
    await startServer({ deadLetterStream });
    const events = client();
    await events.connect();
    await redis.stall(async () => {
      const deadline = new Date(Date.now() + 300);
      const added = lastValueFrom(events.emit('test.event', new RedisRecord({ run: 'late' }, { deadline })).pipe(timeout({ first: deadline })), { defaultValue: undefined });
      await expect(added).rejects.toBeInstanceOf(TimeoutError);
    });
    const run = randomUUID();
    const calls: string[] = [];
    const collect = (call: Call) => calls.push(call.data.run);
    handled.on('event', collect);
    try {
      const call = callOf(run);
      await emit(run);
      await call;
      const letter = await waitFor(async () => (await plain.xrange(deadLetterStream, '-', '+'))[0]);
      const fields = Object.fromEntries(chunk(letter[1]));
      expect(fields).toMatchObject({ stream: `${prefix}test.event`, kind: 'expired' });
      expect(fields['reason']).toMatch(/^added to the stream \d+ ms after its deadline/);
      expect(calls).toEqual([run]);
      expect(await waitForPending(0)).toBe(0);
    } finally {
      handled.off('event', collect);
    }
  });

  it('lateness is when Redis added the entry, not when it is read: a backlog read after its deadline is handled', async () => {
    const deadline = Date.now() - 60_000;
    const run = randomUUID();
    const call = callOf(run);
    // Added (by its id's time) 1 s before a deadline that passed a minute ago, read only now.
    await plain.xadd(`${prefix}test.event`, `${deadline - 1000}-0`, 'pattern', 'test.event', 'data', JSON.stringify({ run }), 'deadline', String(deadline));
    await startServer();
    expect((await call).data.run).toBe(run);
  });

  it('send with a RedisRecord: the handler gets the data alone, the caller the reply', async () => {
    await startServer();
    const deadline = new Date(Date.now() + WAIT_MS);
    await expect(lastValueFrom(client().send('test.request', new RedisRecord({ n: 5 }, { deadline })))).resolves.toEqual({ doubled: 10 });
  });

  it('forged requests (anyone who can XADD) push nothing to a reply list, live or not; the real caller is answered once', async () => {
    await startServer();
    const requests = client();
    await expect(lastValueFrom(requests.send('test.request', { n: 1 }))).resolves.toEqual({ doubled: 2 });
    // The live client's reply list, as a forger reading the stream would learn it.
    const [[, realFields]] = await plain.xrange(`${prefix}test.request`, '-', '+');
    const liveList = Object.fromEntries(chunk(realFields))['reply'];
    const idleList = `reply:${randomUUID()}`;
    const forged = plain.pipeline();
    for (let index = 0; index < 50; index++) {
      for (const list of [liveList, idleList]) forged.xadd(`${prefix}test.request`, '*', 'pattern', 'test.request', 'data', '{"n":1}', 'id', randomUUID(), 'reply', list);
    }
    await forged.exec();
    // Handled and acknowledged, all of them; the last real request after them is still answered.
    await expect(lastValueFrom(requests.send('test.request', { n: 2 }))).resolves.toEqual({ doubled: 4 });
    expect(await waitForPending(0, `${prefix}test.request`)).toBe(0);
    expect(await plain.exists(idleList, liveList)).toBe(0); // nothing pushed, no expiry set or lengthened
  });

  it('a reply to a request whose caller timed out is not pushed (the client withdrew its ticket)', async () => {
    const requests = client();
    await expect(lastValueFrom(requests.send('test.request', { n: 3 }).pipe(timeout(200)))).rejects.toBeInstanceOf(TimeoutError);
    const [[, fields]] = await plain.xrange(`${prefix}test.request`, '-', '+');
    const { reply, id } = Object.fromEntries(chunk(fields));
    await requests.close(); // nobody pops the list: what the server pushes stays there
    expect(await plain.exists(`${reply}:${id}`)).toBe(0);
    await startServer();
    // Read (no lag) and acknowledged (none pending): the request was handled.
    await waitFor(async () => {
      const [group] = (await plain.xinfo('GROUPS', `${prefix}test.request`)) as unknown[][];
      return group[group.indexOf('lag') + 1] === 0 && group[group.indexOf('pending') + 1] === 0;
    });
    expect(await plain.exists(reply)).toBe(0);
  });

  /** Polls Redis (another connection's bookkeeping: there is no event for it) until `read` gives something. */
  async function waitFor<T>(read: () => Promise<T | false | undefined>, timeoutMs = WAIT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value) return value;
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async function waitForPending(count: number, stream?: string): Promise<number> {
    return waitFor(async () => {
      const pending = await pendingCount(stream);
      return pending === count ? pending + 1 : false;
    }).then((value) => value - 1);
  }
});

function chunk(fields: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let index = 0; index < fields.length; index += 2) pairs.push([fields[index], fields[index + 1]]);
  return pairs;
}

