/*
 * Why this suite exists: the unit suites check span creation and context extraction piece by piece, but what the
 * library promises happens inside Nest's Redis transport — the packet the client publishes, the hooks the server
 * runs around a handler, Nest's interceptors and exception filters, rxjs subscription timing, and raw messages
 * that other runtimes publish on the same channels. Only a real Redis and a real Nest microservice exercise all of
 * that. Producer and consumer run in this one process against a private redis-server, sharing one in-memory tracer
 * provider, so that each test can assert the exact span tree it caused.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { Controller, type DynamicModule, type INestMicroservice, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientsModule,
  EventPattern,
  MessagePattern,
  Payload,
  type ReadPacket,
  RedisContext,
  RpcException,
} from '@nestjs/microservices';
import { type RedisTestServer, startRedisTestServer, waitUntil } from '@nest-redis-otel/testing';
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
} from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { lastValueFrom, timeout, TimeoutError } from 'rxjs';
import {
  describeSpans,
  parentSpanIdOf,
  spanIdOf,
  traceIdOf,
  traceparentOf,
  useInMemoryTracing,
} from '../test/in-memory-tracing';
import { useInMemoryMetrics } from '../test/in-memory-metrics';
import { redisConnectionOptions } from './client/redis-connection.options';
import { TracedClientRedis, tracedRedisClient } from './client/traced-client-redis';
import { TracingModule } from './module/tracing.module';
import { RawChannelPublisher } from './raw-channel/raw-channel.publisher';
import { TracedServerRedis, tracedRedisServer } from './server/traced-server-redis';

const tracing = useInMemoryTracing();
const metrics = useInMemoryMetrics();
/** The messaging metrics' attributes of `operation` on `destination`. */
const messaging = (operation: 'send' | 'process', destination: string, errorType?: string) => ({
  'messaging.system': 'redis',
  'messaging.destination.name': destination,
  'messaging.operation.name': operation,
  ...(errorType && { 'error.type': errorType }),
});
const testTracer = () => trace.getTracer('redis-transport.integration.spec');

const WAIT_MS = 10_000;

/** Calls recorded by the test apps (handlers, hooks), awaitable. */
class Recorder<T> {
  readonly entries: T[] = [];
  private readonly events = new EventEmitter();

  constructor(private readonly what: string) {}

  record(entry: T): void {
    this.entries.push(entry);
    this.events.emit('recorded');
  }

  /** The first entry that `matches`, as soon as it is recorded. */
  waitFor(matches: (entry: T) => boolean): Promise<T> {
    return waitUntil(this.events, 'recorded', () => this.entries.find(matches), {
      timeoutMs: WAIT_MS,
      what: `A matching ${this.what}`,
      describeState: () => this.entries.map((entry) => JSON.stringify(entry)).join('\n  ') || '(none)',
    });
  }
}

/** One handler call: the handler, the data it got, and the span active in it. */
interface Handled {
  handler: string;
  data: unknown;
  activeSpan?: SpanContext;
}

const handled = new Recorder<Handled>('handler call');
const recordCall = (handler: string, data: unknown) =>
  handled.record({ handler, data, activeSpan: trace.getActiveSpan()?.spanContext() });
/** The first call of `handler` whose data has these field values. */
const callOf = (handler: string, fields: Record<string, unknown>) =>
  handled.waitFor(
    (call) =>
      call.handler === handler &&
      typeof call.data === 'object' &&
      call.data !== null &&
      Object.entries(fields).every(([key, value]) => (call.data as Record<string, unknown>)[key] === value),
  );

/** A plain connection to the test Redis, for the handlers' own I/O and for publishing raw messages. */
let plainRedis: Redis;

@Controller()
class TestController {
  @EventPattern('test.event')
  onEvent(@Payload() data: unknown): void {
    recordCall('test.event', data);
    testTracer().startActiveSpan('handler work', (span) => span.end());
  }

  /** Real I/O between the handler's steps: the context must survive the awaits. */
  @EventPattern('test.async-event')
  async onAsyncEvent(@Payload() data: unknown): Promise<void> {
    await plainRedis.ping();
    await testTracer().startActiveSpan('work after an await', async (span) => {
      await plainRedis.ping();
      span.end();
    });
    recordCall('test.async-event', data);
  }

  @EventPattern('test.event-error')
  onEventError(@Payload() data: { message: string }): void {
    throw new Error(data.message);
  }

  @EventPattern('test.fan-out')
  onFanOutFirst(@Payload() data: unknown): void {
    recordCall('test.fan-out #1', data);
  }

  @MessagePattern('test.request')
  onRequest(@Payload() data: { run: string; n: number }): { doubled: number } {
    recordCall('test.request', data);
    return { doubled: data.n * 2 };
  }

  @MessagePattern('test.rpc-error')
  onRpcError(@Payload() data: { message: string }): void {
    throw new RpcException({ code: 'NOPE', message: data.message });
  }

  @MessagePattern('test.plain-error')
  onPlainError(@Payload() data: { message: string }): void {
    throw new Error(data.message);
  }

  /** The channel that raw JSON publishers (another runtime, the Python tutorial) use. */
  @EventPattern('test.raw')
  onRaw(@Payload() data: unknown): void {
    recordCall('test.raw', data);
  }
}

/** A second handler of one event pattern: Nest chains them, and both must run inside the one CONSUMER span. */
@Controller()
class SecondFanOutController {
  @EventPattern('test.fan-out')
  onFanOutSecond(@Payload() data: unknown): void {
    recordCall('test.fan-out #2', data);
  }
}

@Module({})
class TestModule {
  static register(redisUrl: string): DynamicModule {
    return {
      module: TestModule,
      imports: [TracingModule.forRoot({ redisUrl })],
      controllers: [TestController, SecondFanOutController],
    };
  }
}

@Controller()
class LinkModeController {
  @EventPattern('linked.event')
  onEvent(@Payload() data: unknown): void {
    recordCall('linked.event', data);
  }
}

@Module({ controllers: [LinkModeController] })
class LinkModeModule {}

/** What the processing hooks that an application sets on the traced server saw of one message. */
interface HookCall {
  channel: string;
  spanAtStart?: Span;
  isSpanRecordingAtEnd?: boolean;
}

const hookCalls = new Recorder<HookCall>('processing hook call');

/** Application hooks, as an APM agent or a metrics library would set them on the server. */
function setApplicationHooks(server: TracedServerRedis): void {
  const calls = new WeakMap<object, HookCall>();
  server.setOnProcessingStartHook((_transportId, rpcContext, done) => {
    if (rpcContext instanceof RedisContext) {
      calls.set(rpcContext, { channel: rpcContext.getChannel(), spanAtStart: trace.getActiveSpan() });
    }
    return done();
  });
  server.setOnProcessingEndHook((_transportId, rpcContext) => {
    const call = calls.get(rpcContext as object);
    if (call) hookCalls.record({ ...call, isSpanRecordingAtEnd: call.spanAtStart?.isRecording() });
  });
}

/** Keeps what Nest and the library log, so that the output stays readable and the tests can check for warnings. */
class RecordingLogger implements LoggerService {
  readonly entries: { level: string; message: string; context?: string }[] = [];

  log(message: unknown, ...rest: unknown[]): void {
    this.add('log', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.add('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.add('warn', message, rest);
  }

  /** Warnings of the traced client and server: each means a message went untraced. */
  tracingWarnings(): string[] {
    const tracedClasses = ['TracedClientRedis', 'TracedServerRedis'];
    return this.entries
      .filter((entry) => entry.level === 'warn' && tracedClasses.includes(entry.context ?? ''))
      .map((entry) => `${entry.context}: ${entry.message}`);
  }

  private add(level: string, message: unknown, rest: unknown[]): void {
    const last = rest[rest.length - 1];
    const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
    this.entries.push({ level, message: text, context: typeof last === 'string' ? last : undefined });
  }
}

const logger = new RecordingLogger();

/**
 * `listen()` resolves once Nest has sent its SUBSCRIBE commands, not once Redis has applied them: a PING on the
 * same connection is answered after them, so a message published after it reaches the handlers.
 */
async function listenAndAwaitSubscriptions(app: INestMicroservice): Promise<void> {
  await app.listen();
  const [, subscriber] = app.unwrap<[Redis, Redis]>();
  await subscriber.ping();
}

interface Parent {
  span: Span;
  context: Context;
  traceId: string;
  spanId: string;
}

/** A new span, for the test to act under (its context), as a request handler would. */
function newParent(name = 'request'): Parent {
  const span = testTracer().startSpan(name, {}, ROOT_CONTEXT);
  const { traceId, spanId } = span.spanContext();
  return { span, context: trace.setSpan(ROOT_CONTEXT, span), traceId, spanId };
}

/** Waits until the trace `traceId` holds a span of each name, and returns them by name (one each, or throws). */
async function spansOfTrace(traceId: string, names: string[]): Promise<Record<string, ReadableSpan>> {
  const inTrace = await tracing.waitForSpans((spans) => {
    const found = spans.filter((span) => traceIdOf(span) === traceId);
    return names.every((name) => found.some((span) => span.name === name)) && found;
  }, WAIT_MS);
  return Object.fromEntries(names.map((name) => [name, only(inTrace, name)]));
}

function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const matches = spans.filter((span) => span.name === name);
  if (matches.length !== 1) {
    throw new Error(`Expected one "${name}" span, found ${matches.length}:\n  ${describeSpans(spans)}`);
  }
  return matches[0];
}

const spanWithId = (spanId: string | undefined) =>
  tracing.waitForSpan((span) => spanIdOf(span) === spanId, WAIT_MS);

function expectMessagingSpan(span: ReadableSpan, kind: SpanKind, destination: string): void {
  const operation = kind === SpanKind.PRODUCER ? 'send' : 'process';
  expect(span.name).toBe(`${operation} ${destination}`);
  expect(span.kind).toBe(kind);
  expect(span.attributes).toMatchObject({
    'messaging.system': 'redis',
    'messaging.destination.name': destination,
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
  });
}

function exceptionEvents(span: ReadableSpan) {
  return span.events.filter((event) => event.name === 'exception').map((event) => event.attributes);
}

/**
 * The ids of `spans` in the order they ended. The exporter receives spans as they end, in this one process; their
 * end timestamps cannot tell: the SDK anchors each span's clock separately, to the millisecond.
 */
function endOrder(...spans: ReadableSpan[]): string[] {
  const ids = new Set(spans.map(spanIdOf));
  return tracing
    .spans()
    .map(spanIdOf)
    .filter((id) => ids.has(id));
}

/** What `promise` rejects with; fails the test when it resolves. */
function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`Expected a failure, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('traced Redis transport against a real Redis (client, server, raw channels)', () => {
  let redisServer: RedisTestServer;
  let app: INestMicroservice;
  let linkModeApp: INestMicroservice;
  let client: TracedClientRedis;
  const plainSubscribers: Redis[] = [];

  /** A plain ioredis connection subscribed to `channel`, closed after the suite. */
  async function subscribePlain(channel: string): Promise<Redis> {
    const subscriber = new Redis(redisServer.url);
    plainSubscribers.push(subscriber);
    await subscriber.subscribe(channel);
    return subscriber;
  }

  /** Emits under `parent`; resolves once Redis has accepted the event. */
  function emitUnder(parent: Parent, pattern: string, data: unknown, via: TracedClientRedis = client) {
    return context.with(parent.context, () => lastValueFrom(via.emit(pattern, data), { defaultValue: undefined }));
  }

  /** Sends a request under `parent`; resolves with the reply. */
  function sendUnder(parent: Parent, pattern: string, data: unknown, via: TracedClientRedis = client) {
    return context.with(parent.context, () => lastValueFrom(via.send(pattern, data)));
  }

  beforeAll(async () => {
    redisServer = await startRedisTestServer();
    const url = redisServer.url;

    const server = tracedRedisServer({ url, tracing: { payloadCapture: { fields: ['request_id'] } } });
    setApplicationHooks(server.strategy);
    app = await NestFactory.createMicroservice(TestModule.register(url), { ...server, logger });
    await listenAndAwaitSubscriptions(app);

    linkModeApp = await NestFactory.createMicroservice(LinkModeModule, {
      ...tracedRedisServer({ url, tracing: { parentMode: 'link' } }),
      logger,
    });
    await listenAndAwaitSubscriptions(linkModeApp);

    client = new TracedClientRedis(redisConnectionOptions(url));
    await client.connect();
    plainRedis = new Redis(url);
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await linkModeApp?.close();
    await Promise.all([plainRedis, ...plainSubscribers].map((connection) => connection?.quit()));
    await redisServer?.stop();
  });

  afterEach(() => {
    expect(logger.tracingWarnings()).toEqual([]);
  });

  describe('emit', () => {
    it('PRODUCER child of the active span → CONSUMER child of the PRODUCER → handler work child of CONSUMER', async () => {
      const run = randomUUID();
      const parent = newParent();

      await emitUnder(parent, 'test.event', { run });
      parent.span.end();
      const call = await callOf('test.event', { run });

      const spans = await spansOfTrace(parent.traceId, ['send test.event', 'process test.event', 'handler work']);
      const producer = spans['send test.event'];
      const consumer = spans['process test.event'];
      expectMessagingSpan(producer, SpanKind.PRODUCER, 'test.event');
      expectMessagingSpan(consumer, SpanKind.CONSUMER, 'test.event');
      expect(parentSpanIdOf(producer)).toBe(parent.spanId);
      expect(parentSpanIdOf(consumer)).toBe(spanIdOf(producer));
      expect(parentSpanIdOf(spans['handler work'])).toBe(spanIdOf(consumer));
      expect(call.activeSpan?.spanId).toBe(spanIdOf(consumer));
      expect(call.data).toStrictEqual({ run });

      // The message as published: Nest's envelope, the data, the trace context in `metadata`.
      const published = { pattern: 'test.event', data: { run }, metadata: { traceparent: `00-${parent.traceId}-${spanIdOf(producer)}-01` } };
      expect(producer.attributes['messaging.message.envelope.size']).toBe(Buffer.byteLength(JSON.stringify(published)));
      expect(consumer.attributes['messaging.message.envelope.size']).toBe(Buffer.byteLength(JSON.stringify(published)));
      expect(producer.attributes).not.toHaveProperty(['messaging.message.id']);
      expect(producer.status.code).toBe(SpanStatusCode.UNSET);
      expect(consumer.status.code).toBe(SpanStatusCode.UNSET);
    });

    it('publishes the trace context in metadata and the data exactly as emitted', async () => {
      const wire = await subscribePlain('test.event');
      const received = once(wire, 'message') as Promise<[string, string]>;
      const data = { run: randomUUID(), nested: { list: [1, 'two', null], flag: false }, text: 'é€😀' };
      const parent = newParent();

      await emitUnder(parent, 'test.event', data);
      parent.span.end();
      const [channel, text] = await received;

      const { 'send test.event': producer } = await spansOfTrace(parent.traceId, ['send test.event']);
      expect(channel).toBe('test.event');
      expect(JSON.parse(text)).toStrictEqual({
        pattern: 'test.event',
        data,
        metadata: { traceparent: traceparentOf(producer.spanContext()) },
      });
      await callOf('test.event', { run: data.run });
    });

    it('an async handler: work after its awaits is a child of the CONSUMER span, which ends after it', async () => {
      const run = randomUUID();
      const parent = newParent();

      await emitUnder(parent, 'test.async-event', { run });
      parent.span.end();
      const call = await callOf('test.async-event', { run });

      const spans = await spansOfTrace(parent.traceId, ['process test.async-event', 'work after an await']);
      const consumer = spans['process test.async-event'];
      const work = spans['work after an await'];
      expect(call.activeSpan?.spanId).toBe(spanIdOf(consumer));
      expect(parentSpanIdOf(work)).toBe(spanIdOf(consumer));
      expect(endOrder(work, consumer)).toEqual([spanIdOf(work), spanIdOf(consumer)]);
    });

    it('a handler that throws: the CONSUMER span is ERROR with the exception recorded once', async () => {
      const parent = newParent();

      await emitUnder(parent, 'test.event-error', { message: 'event failed' });
      parent.span.end();

      const spans = await spansOfTrace(parent.traceId, ['send test.event-error', 'process test.event-error']);
      const producer = spans['send test.event-error'];
      const consumer = spans['process test.event-error'];
      expect(parentSpanIdOf(consumer)).toBe(spanIdOf(producer));
      expect(consumer.status).toStrictEqual({ code: SpanStatusCode.ERROR, message: 'event failed' });
      expect(consumer.attributes['error.type']).toBe('Error');
      expect(exceptionEvents(consumer)).toEqual([expect.objectContaining({ 'exception.message': 'event failed' })]);
      // Publishing succeeded: the failure is the consumer's, not the producer's.
      expect(producer.status.code).toBe(SpanStatusCode.UNSET);
      expect(await metrics.pointOf('messaging.process.duration', messaging('process', 'test.event-error', 'Error'))).toMatchObject({ value: 1 });
      expect(await metrics.pointOf('messaging.client.sent.messages', messaging('send', 'test.event-error'))).toMatchObject({ value: 1 });
    });

    it('two handlers of one event pattern both run inside the one CONSUMER span', async () => {
      const run = randomUUID();
      const parent = newParent();

      await emitUnder(parent, 'test.fan-out', { run });
      parent.span.end();
      const first = await callOf('test.fan-out #1', { run });
      const second = await callOf('test.fan-out #2', { run });

      const spans = await spansOfTrace(parent.traceId, ['send test.fan-out', 'process test.fan-out']);
      const consumer = spans['process test.fan-out'];
      expect(first.activeSpan?.spanId).toBe(spanIdOf(consumer));
      expect(second.activeSpan?.spanId).toBe(spanIdOf(consumer));
      expect(second.data).toStrictEqual({ run });
    });

    it('in link mode the CONSUMER starts a new trace, linked to the PRODUCER span', async () => {
      const run = randomUUID();
      const parent = newParent();

      await emitUnder(parent, 'linked.event', { run });
      parent.span.end();
      const call = await callOf('linked.event', { run });

      const { 'send linked.event': producer } = await spansOfTrace(parent.traceId, ['send linked.event']);
      const consumer = await spanWithId(call.activeSpan?.spanId);
      expectMessagingSpan(consumer, SpanKind.CONSUMER, 'linked.event');
      expect(trace.isSpanContextValid(consumer.spanContext())).toBe(true);
      expect(traceIdOf(consumer)).not.toBe(traceIdOf(producer));
      expect(consumer.parentSpanContext).toBeUndefined();
      expect(consumer.links).toHaveLength(1);
      expect(consumer.links[0].context).toMatchObject({ traceId: traceIdOf(producer), spanId: spanIdOf(producer) });
    });
  });

  describe('send', () => {
    it('gives the reply, under a PRODUCER span whose CONSUMER child has the same messaging.message.id', async () => {
      const run = randomUUID();
      const parent = newParent();

      const reply = await sendUnder(parent, 'test.request', { run, n: 21 });
      parent.span.end();

      expect(reply).toStrictEqual({ doubled: 42 });
      const spans = await spansOfTrace(parent.traceId, ['send test.request', 'process test.request']);
      const producer = spans['send test.request'];
      const consumer = spans['process test.request'];
      expectMessagingSpan(producer, SpanKind.PRODUCER, 'test.request');
      expectMessagingSpan(consumer, SpanKind.CONSUMER, 'test.request');
      expect(parentSpanIdOf(producer)).toBe(parent.spanId);
      expect(parentSpanIdOf(consumer)).toBe(spanIdOf(producer));
      expect(producer.attributes['messaging.message.id']).toEqual(expect.any(String));
      expect(consumer.attributes['messaging.message.id']).toBe(producer.attributes['messaging.message.id']);
      // Measured on each side, the same request: its envelope, id and trace context included.
      expect(producer.attributes['messaging.message.envelope.size']).toBeGreaterThan(Buffer.byteLength(JSON.stringify({ run, n: 21 })) + 55);
      expect(consumer.attributes['messaging.message.envelope.size']).toBe(producer.attributes['messaging.message.envelope.size']);
      expect(producer.status.code).toBe(SpanStatusCode.UNSET);
      // The PRODUCER span covers the round trip, up to the reply.
      expect(endOrder(producer, consumer)).toEqual([spanIdOf(consumer), spanIdOf(producer)]);
    });

    it('keeps the parent active where the request was created, even when subscribed in another context', async () => {
      const run = randomUUID();
      const creation = newParent('where send() is called');
      const subscription = newParent('where the reply is awaited');

      const reply$ = context.with(creation.context, () => client.send('test.request', { run, n: 1 }));
      const reply = await context.with(subscription.context, () => lastValueFrom(reply$));
      creation.span.end();
      subscription.span.end();

      expect(reply).toStrictEqual({ doubled: 2 });
      const spans = await spansOfTrace(creation.traceId, ['send test.request', 'process test.request']);
      expect(parentSpanIdOf(spans['send test.request'])).toBe(creation.spanId);
      expect(parentSpanIdOf(spans['process test.request'])).toBe(spanIdOf(spans['send test.request']));
      const inSubscriptionTrace = tracing.spans().filter((span) => traceIdOf(span) === subscription.traceId);
      expect(inSubscriptionTrace.map((span) => span.name)).toEqual(['where the reply is awaited']);
    });

    it('concurrent requests under different parents each keep their own trace, end to end', async () => {
      const run = randomUUID();
      const parents = Array.from({ length: 6 }, (_, n) => newParent(`request ${n}`));

      const replies = await Promise.all(parents.map((parent, n) => sendUnder(parent, 'test.request', { run, n })));
      parents.forEach((parent) => parent.span.end());

      expect(replies).toStrictEqual(parents.map((_, n) => ({ doubled: 2 * n })));
      for (const [n, parent] of parents.entries()) {
        const spans = await spansOfTrace(parent.traceId, ['send test.request', 'process test.request']);
        const call = await callOf('test.request', { run, n });
        expect(parentSpanIdOf(spans['send test.request'])).toBe(parent.spanId);
        expect(parentSpanIdOf(spans['process test.request'])).toBe(spanIdOf(spans['send test.request']));
        expect(call.activeSpan?.spanId).toBe(spanIdOf(spans['process test.request']));
      }
    });

    it('an RpcException: the client gets its error unchanged; CONSUMER and PRODUCER are ERROR, with it recorded', async () => {
      const parent = newParent();

      const failure = await failureOf(sendUnder(parent, 'test.rpc-error', { message: 'not today' }));
      parent.span.end();

      expect(failure).toStrictEqual({ code: 'NOPE', message: 'not today' });
      const spans = await spansOfTrace(parent.traceId, ['send test.rpc-error', 'process test.rpc-error']);
      const producer = spans['send test.rpc-error'];
      const consumer = spans['process test.rpc-error'];
      expect(parentSpanIdOf(consumer)).toBe(spanIdOf(producer));

      expect(consumer.status).toStrictEqual({ code: SpanStatusCode.ERROR, message: 'not today' });
      expect(consumer.attributes['error.type']).toBe('RpcException');
      expect(exceptionEvents(consumer)).toEqual([expect.objectContaining({ 'exception.message': 'not today' })]);

      expect(producer.status).toStrictEqual({ code: SpanStatusCode.ERROR, message: 'not today' });
      expect(producer.attributes['error.type']).toBe('NOPE');
      expect(exceptionEvents(producer)).toEqual([{ 'exception.type': 'NOPE', 'exception.message': 'not today' }]);
      expect(await metrics.pointOf('messaging.process.duration', messaging('process', 'test.rpc-error', 'RpcException'))).toMatchObject({ value: 1 });
      expect(await metrics.pointOf('messaging.client.operation.duration', messaging('send', 'test.rpc-error', 'NOPE'))).toMatchObject({ value: 1 });
    });

    it('a plain Error: the CONSUMER records the original exception, not the generic reply; PRODUCER is ERROR', async () => {
      const parent = newParent();

      const failure = await failureOf(sendUnder(parent, 'test.plain-error', { message: 'disk on fire' }));
      parent.span.end();

      expect(failure).toStrictEqual({ status: 'error', message: 'Internal server error' });
      const spans = await spansOfTrace(parent.traceId, ['send test.plain-error', 'process test.plain-error']);
      const producer = spans['send test.plain-error'];
      const consumer = spans['process test.plain-error'];

      expect(consumer.status).toStrictEqual({ code: SpanStatusCode.ERROR, message: 'disk on fire' });
      expect(consumer.attributes['error.type']).toBe('Error');
      expect(exceptionEvents(consumer)).toEqual([
        expect.objectContaining({
          'exception.type': 'Error',
          'exception.message': 'disk on fire',
          'exception.stacktrace': expect.any(String),
        }),
      ]);

      expect(producer.status).toStrictEqual({ code: SpanStatusCode.ERROR, message: 'Internal server error' });
      expect(exceptionEvents(producer)).toHaveLength(1);
    });

    it('a request nobody answers, cut by rxjs timeout(): the caller gets TimeoutError, the PRODUCER ends ERROR', async () => {
      const parent = newParent();

      const failure = await failureOf(
        context.with(parent.context, () =>
          lastValueFrom(client.send('test.nobody-listens', { run: randomUUID() }).pipe(timeout(200))),
        ),
      );
      parent.span.end();

      expect(failure).toBeInstanceOf(TimeoutError);
      const spans = await spansOfTrace(parent.traceId, ['send test.nobody-listens']);
      const producer = spans['send test.nobody-listens'];
      expect(parentSpanIdOf(producer)).toBe(parent.spanId);
      expect(producer.status.code).toBe(SpanStatusCode.ERROR);
      expect(producer.attributes['error.type']).toBe('NoReplyError');
      expect(exceptionEvents(producer)).toHaveLength(1);
    });
  });

  describe('client set-ups and hooks', () => {
    it('ClientsModule.register with tracedRedisClient() gives a traced client, from its first message on', async () => {
      const clients = await NestFactory.createApplicationContext(
        ClientsModule.register([{ name: 'TRACED_CLIENT', ...tracedRedisClient({ url: redisServer.url }) }]),
        { logger },
      );
      try {
        const viaModule = clients.get<TracedClientRedis>('TRACED_CLIENT');
        expect(viaModule).toBeInstanceOf(TracedClientRedis);
        const run = randomUUID();
        const parent = newParent();

        // Not connected yet: this emit connects first, and must still carry the context.
        await emitUnder(parent, 'test.event', { run }, viaModule);
        const reply = await sendUnder(parent, 'test.request', { run, n: 5 }, viaModule);
        parent.span.end();

        expect(reply).toStrictEqual({ doubled: 10 });
        const spans = await spansOfTrace(parent.traceId, [
          'send test.event',
          'process test.event',
          'send test.request',
          'process test.request',
        ]);
        expect(parentSpanIdOf(spans['process test.event'])).toBe(spanIdOf(spans['send test.event']));
        expect(parentSpanIdOf(spans['process test.request'])).toBe(spanIdOf(spans['send test.request']));
      } finally {
        await clients.close();
      }
    });

    it('a dispatch hook set on the client runs after the trace context is injected, not instead', async () => {
      const hooked = new TracedClientRedis(redisConnectionOptions(redisServer.url));
      const dispatched: ReadPacket[] = [];
      hooked.setOnDispatchHook((packet) => dispatched.push(structuredClone(packet)));
      try {
        const run = randomUUID();
        const parent = newParent();

        await emitUnder(parent, 'test.event', { run }, hooked);
        parent.span.end();

        const spans = await spansOfTrace(parent.traceId, ['send test.event', 'process test.event']);
        const producer = spans['send test.event'];
        expect(dispatched).toStrictEqual([
          { pattern: 'test.event', data: { run }, metadata: { traceparent: traceparentOf(producer.spanContext()) } },
        ]);
        expect(parentSpanIdOf(spans['process test.event'])).toBe(spanIdOf(producer));
      } finally {
        await hooked.close();
      }
    });

    it('processing hooks set on the server run inside the CONSUMER span, and before it ends', async () => {
      const run = randomUUID();
      const parent = newParent();

      await emitUnder(parent, 'test.event', { run });
      parent.span.end();
      const call = await callOf('test.event', { run });
      const consumerSpanId = call.activeSpan?.spanId;

      const hookCall = await hookCalls.waitFor((entry) => entry.spanAtStart?.spanContext().spanId === consumerSpanId);
      expect(hookCall).toMatchObject({ channel: 'test.event', isSpanRecordingAtEnd: true });
      const consumer = await spanWithId(consumerSpanId);
      expect(consumer.name).toBe('process test.event');
    });
  });

  describe('raw JSON published by a plain Redis client', () => {
    const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
    const SPAN_ID = 'b7ad6b7169203331';

    it('is handled under a CONSUMER span parented to its top-level traceparent, the payload intact', async () => {
      const raw = { message: 'hi', request_id: 'r1', traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` };

      expect(await plainRedis.publish('test.raw', JSON.stringify(raw))).toBe(1);
      const call = await callOf('test.raw', { request_id: 'r1' });

      expect(call.data).toStrictEqual(raw);
      const consumer = await spanWithId(call.activeSpan?.spanId);
      expectMessagingSpan(consumer, SpanKind.CONSUMER, 'test.raw');
      expect(traceIdOf(consumer)).toBe(TRACE_ID);
      expect(parentSpanIdOf(consumer)).toBe(SPAN_ID);
      expect(consumer.attributes['messaging.payload.request_id']).toBe('r1');
      expect(consumer.attributes).not.toHaveProperty(['messaging.payload.message']);
      expect(consumer.attributes['messaging.message.envelope.size']).toBe(Buffer.byteLength(JSON.stringify(raw)));
    });

    it('with a malformed traceparent is still handled, under a new root span', async () => {
      const raw = { message: 'hi', request_id: 'r2', traceparent: `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01` };

      await plainRedis.publish('test.raw', JSON.stringify(raw));
      const call = await callOf('test.raw', { request_id: 'r2' });

      expect(call.data).toStrictEqual(raw);
      const consumer = await spanWithId(call.activeSpan?.spanId);
      expect(consumer.name).toBe('process test.raw');
      expect(consumer.parentSpanContext).toBeUndefined();
      expect(traceIdOf(consumer)).not.toBe(TRACE_ID);
    });

    it('that is not JSON at all does not stop the server: the next valid message is processed', async () => {
      await plainRedis.publish('test.raw', 'this is { not JSON');
      await plainRedis.publish('test.raw', JSON.stringify({ message: 'after garbage', request_id: 'r3' }));

      const call = await callOf('test.raw', { request_id: 'r3' });

      expect(call.data).toStrictEqual({ message: 'after garbage', request_id: 'r3' });
      const consumer = await spanWithId(call.activeSpan?.spanId);
      expect(consumer.name).toBe('process test.raw');
      const reply = await lastValueFrom(client.send('test.request', { run: randomUUID(), n: 4 }));
      expect(reply).toStrictEqual({ doubled: 8 });
    });
  });

  describe('RawChannelPublisher', () => {
    it('delivers the payload plus a top-level traceparent of its PRODUCER span; resolves with receivers', async () => {
      const subscriber = await subscribePlain('raw.out');
      const received = once(subscriber, 'message') as Promise<[string, string]>;
      const publisher = app.get(RawChannelPublisher);
      const parent = newParent();

      const receivers = await context.with(parent.context, () =>
        publisher.publish('raw.out', { message: 'hi', request_id: 'r1' }),
      );
      parent.span.end();
      const [channel, text] = await received;

      expect(receivers).toBe(1);
      expect(channel).toBe('raw.out');
      const { 'send raw.out': producer } = await spansOfTrace(parent.traceId, ['send raw.out']);
      expectMessagingSpan(producer, SpanKind.PRODUCER, 'raw.out');
      expect(parentSpanIdOf(producer)).toBe(parent.spanId);
      expect(JSON.parse(text)).toStrictEqual({
        message: 'hi',
        request_id: 'r1',
        traceparent: `00-${traceIdOf(producer)}-${spanIdOf(producer)}-01`,
      });
    });

    it('resolves with 0 when nobody listens on the channel, and warns', async () => {
      const publisher = app.get(RawChannelPublisher);
      await expect(publisher.publish(`nobody.${randomUUID()}`, { message: 'lost' })).resolves.toBe(0);
      expect(logger.entries).toContainEqual({
        level: 'warn',
        context: 'RawChannelPublisher',
        message: expect.stringContaining('No subscriber'),
      });
    });
  });
});
