/*
 * Why this suite exists: a team that already runs Nest's stock ClientRedis and ServerRedis (or registers its clients
 * with ClientsModule) should get the trace by calling two functions, without swapping classes, and without losing a
 * dispatch or processing hook it set itself or that another agent set. Only Nest's real transport on a real Redis
 * shows that the hooks run where the library expects (the caller's context at dispatch, the handler inside the start
 * hook's `done`, the end hook exactly once) and that the metadata written on one side is what the other side reads.
 */
import 'reflect-metadata';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { ClientRedis, Ctx, EventPattern, MessagePattern, Payload, RedisContext, RpcException, ServerRedis } from '@nestjs/microservices';
import { type RedisTestServer, startRedisTestServer } from '@nest-redis-otel/testing';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { lastValueFrom } from 'rxjs';
import { parentSpanIdOf, spanIdOf, traceIdOf, useInMemoryTracing } from '../../test/in-memory-tracing';
import { redisConnectionOptions } from '../client/redis-connection.options';
import { MessageTracingInterceptor } from '../module/message-tracing.interceptor';
import { instrumentClientProxy } from './instrument-client-proxy';
import { instrumentServer } from './instrument-server';

const tracing = useInMemoryTracing();

/** What the handlers saw: the metadata the packet carried and the span they ran in. */
const seen: { pattern: string; metadata: Record<string, unknown>; spanId?: string }[] = [];
/** Calls of the app's own processing hooks, with the span active when they ran. */
const appHooks: { hook: 'start' | 'end'; spanId?: string }[] = [];

@Controller()
class HooksController {
  @EventPattern('hooks.created')
  created(@Payload() _data: unknown, @Ctx() ctx: RedisContext): void {
    seen.push({ pattern: 'hooks.created', metadata: ctx.getMetadata() ?? {}, spanId: trace.getActiveSpan()?.spanContext().spanId });
  }

  @MessagePattern('hooks.get')
  get(@Payload() data: { fail?: boolean }, @Ctx() ctx: RedisContext): { ok: true } {
    seen.push({ pattern: 'hooks.get', metadata: ctx.getMetadata() ?? {}, spanId: trace.getActiveSpan()?.spanContext().spanId });
    if (data.fail) throw new RpcException({ code: 'NOPE', message: 'refused on purpose' });
    return { ok: true };
  }
}

@Module({ controllers: [HooksController], providers: [{ provide: APP_INTERCEPTOR, useClass: MessageTracingInterceptor }] })
class HooksModule {}

describe("instrumentClientProxy / instrumentServer on Nest's stock Redis transport", () => {
  let redis: RedisTestServer;
  let microservice: INestMicroservice;
  let client: ClientRedis;

  beforeAll(async () => {
    redis = await startRedisTestServer();
    const server = new ServerRedis(redisConnectionOptions(redis.url));
    // An app hook set before the instrumentation, and one set after: both must keep running.
    server.setOnProcessingEndHook(() => appHooks.push({ hook: 'end', spanId: trace.getActiveSpan()?.spanContext().spanId }));
    instrumentServer(server);
    server.setOnProcessingStartHook((_transportId, _context, done) => {
      appHooks.push({ hook: 'start', spanId: trace.getActiveSpan()?.spanContext().spanId });
      return done();
    });
    microservice = await NestFactory.createMicroservice(HooksModule, { strategy: server, logger: false });
    await microservice.listen();

    client = new ClientRedis(redisConnectionOptions(redis.url));
    client.setOnDispatchHook((packet) => Object.assign(packet, { metadata: { ...(packet as { metadata?: object }).metadata, tenant: 'before' } }));
    instrumentClientProxy(client);
    await client.connect();
  }, 30_000);

  afterEach(() => {
    seen.length = 0;
    appHooks.length = 0;
  });

  afterAll(async () => {
    await client?.close();
    await microservice?.close();
    await redis?.stop();
  });

  it('emit: PRODUCER child of the caller, CONSUMER child of the PRODUCER in the handler, app hooks on both sides kept', async () => {
    const caller = trace.getTracer('spec').startSpan('caller');
    await context.with(trace.setSpan(context.active(), caller), () => lastValueFrom(client.emit('hooks.created', { id: 1 })));
    caller.end();

    const consumer = await tracing.waitForSpan((span) => span.name === 'process hooks.created');
    const producer = tracing.spans().find((span) => span.name === 'send hooks.created');
    if (!producer) throw new Error(`no PRODUCER span among: ${tracing.spans().map((span) => span.name).join(', ')}`);
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(parentSpanIdOf(producer)).toBe(caller.spanContext().spanId);
    expect(traceIdOf(consumer)).toBe(caller.spanContext().traceId);
    expect(parentSpanIdOf(consumer)).toBe(spanIdOf(producer));
    expect(consumer.attributes).toMatchObject({ 'messaging.system': 'redis', 'messaging.destination.name': 'hooks.created' });

    // The app's own metadata and ours travelled together; the handler ran inside the CONSUMER span.
    expect(seen).toEqual([{ pattern: 'hooks.created', metadata: { tenant: 'before', traceparent: expect.stringContaining(spanIdOf(producer)) }, spanId: spanIdOf(consumer) }]);
    // The app's start hook ran inside our span (set after instrumentServer), its end hook too (set before).
    expect(appHooks).toEqual([
      { hook: 'start', spanId: spanIdOf(consumer) },
      { hook: 'end', spanId: expect.any(String) },
    ]);
  });

  it('send: the reply comes back, the CONSUMER span is the child of the PRODUCER span', async () => {
    await expect(lastValueFrom(client.send('hooks.get', {}))).resolves.toEqual({ ok: true });
    const consumer = await tracing.waitForSpan((span) => span.name === 'process hooks.get');
    const producer = tracing.spans().find((span) => span.name === 'send hooks.get');
    expect(parentSpanIdOf(consumer)).toBe(producer && spanIdOf(producer));
    expect(consumer.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a handler that throws: the caller gets the RPC error, the CONSUMER span is ERROR (MessageTracingInterceptor)', async () => {
    await expect(lastValueFrom(client.send('hooks.get', { fail: true }))).rejects.toMatchObject({ code: 'NOPE' });
    const consumer = await tracing.waitForSpan((span) => span.name === 'process hooks.get');
    expect(consumer.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('a dispatch hook set after instrumentClientProxy runs too, and the trace context is still added', async () => {
    client.setOnDispatchHook((packet) => Object.assign(packet, { metadata: { ...(packet as { metadata?: object }).metadata, tenant: 'after' } }));
    await lastValueFrom(client.emit('hooks.created', { id: 2 }));
    await tracing.waitForSpan((span) => span.name === 'process hooks.created');
    expect(seen[0]?.metadata).toMatchObject({ tenant: 'after', traceparent: expect.any(String) });
  });
});
