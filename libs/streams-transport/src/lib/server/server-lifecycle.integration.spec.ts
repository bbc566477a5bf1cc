/*
 * The server's life around its handlers, against a real redis-server with an append-only file: what only a real
 * Redis shows is that a restart keeps the group's place (nothing handled twice, nothing skipped), that close waits
 * for a running handler and acknowledges its entry, that close does not hang while Redis is away, and that a burst of
 * bad entries is dead-lettered without a log line per entry.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Controller, type INestMicroservice, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { startRedisTestServer, type RedisTestServer } from '@nest-redis-otel/testing';
import { parentSpanIdOf, spanIdOf, traceIdOf, useInMemoryTracing } from '@nest-redis-otel/testing/in-memory-tracing';
import { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import { ClientRedisStreams } from '../client/client-redis-streams';
import { RedisStreamsContext, ServerRedisStreams, type ServerRedisStreamsOptions } from './server-redis-streams';

const tracing = useInMemoryTracing();
const WAIT_MS = 10_000;

interface Call {
  run: string;
  deliveries: number;
  spanId?: string;
}
const handled = new EventEmitter();
/** Runs whose handler waits until the test releases it. */
const held = new Map<string, Promise<void>>();
/** Handlers running now, and the most that ever ran at once. */
const running = { now: 0, most: 0 };

@Controller()
class LifecycleController {
  @EventPattern('life.event')
  async onEvent(@Payload() data: { run: string }, @Ctx() ctx: RedisStreamsContext): Promise<void> {
    const call: Call = { run: data.run, deliveries: ctx.getDeliveryCount(), spanId: trace.getActiveSpan()?.spanContext().spanId };
    running.most = Math.max(running.most, ++running.now);
    try {
      handled.emit('started', call);
      await held.get(data.run);
    } finally {
      running.now--;
    }
    handled.emit('event', call);
  }
}

/** Holds the handler of `run` until the returned function is called. */
function hold(run: string): () => void {
  let release = () => undefined as void;
  held.set(run, new Promise<void>((resolve) => (release = resolve)));
  return () => {
    release();
    held.delete(run);
  };
}

@Module({ controllers: [LifecycleController] })
class LifecycleModule {}

/** Every warning the transport logs, through Nest's logger. */
const warnings: string[] = [];
const capturingLogger: LoggerService = {
  log: () => undefined,
  error: (message: unknown) => warnings.push(String(message)),
  warn: (message: unknown) => warnings.push(String(message)),
};

function nextCall(run: string, event: 'started' | 'event' = 'event'): Promise<Call> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} for ${run} within ${WAIT_MS} ms`)), WAIT_MS);
    const listener = (call: Call) => {
      if (call.run !== run) return;
      clearTimeout(timer);
      handled.off(event, listener);
      resolve(call);
    };
    handled.on(event, listener);
  });
}

describe('ServerRedisStreams life cycle against a real Redis (append-only file)', () => {
  let redis: RedisTestServer;
  let plain: Redis;
  let prefix: string;
  const started: INestMicroservice[] = [];
  const clients: ClientRedisStreams[] = [];

  beforeAll(async () => {
    redis = await startRedisTestServer({ requirePrivate: true, appendOnly: true });
    plain = new Redis(redis.url, { maxRetriesPerRequest: null });
    plain.on('error', () => undefined); // Redis restarts on purpose
  });

  beforeEach(() => {
    prefix = `life-${randomUUID().slice(0, 8)}:`;
    warnings.length = 0;
  });

  afterEach(async () => {
    await Promise.all([...started.splice(0).map((app) => app.close()), ...clients.splice(0).map((client) => client.close())]);
  });

  afterAll(async () => {
    plain.disconnect();
    await redis.stop();
  });

  async function startServer(options: Partial<ServerRedisStreamsOptions> = {}): Promise<{ server: ServerRedisStreams; app: INestMicroservice }> {
    const server = new ServerRedisStreams({ url: redis.url, streamPrefix: prefix, consumer: 'c1', blockMs: 200, claimIdleMs: 60_000, ...options });
    const app = await NestFactory.createMicroservice(LifecycleModule, { strategy: server, logger: capturingLogger });
    await app.listen();
    started.push(app);
    return { server, app };
  }

  function emit(run: string): Promise<unknown> {
    const client = new ClientRedisStreams({ url: redis.url, streamPrefix: prefix });
    clients.push(client);
    return lastValueFrom(client.emit('life.event', { run }), { defaultValue: undefined });
  }

  const stream = () => `${prefix}life.event`;
  const pending = async () => ((await plain.xpending(stream(), 'consumers')) as [number])[0];

  /** Polls the group's pending count: another connection's bookkeeping, with no event to await. */
  async function waitForPending(count: number): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while ((await pending()) !== count) {
      if (Date.now() > deadline) throw new Error(`pending entries never became ${count} (now ${await pending()})`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('a Redis restart from its append-only file keeps the group’s place: nothing handled again, nothing skipped', async () => {
    const { server } = await startServer();
    const before = randomUUID();
    const first = nextCall(before);
    await emit(before);
    await first;
    const calls: string[] = [];
    const collect = (call: Call) => calls.push(call.run);
    handled.on('event', collect);
    try {
      // An entry added while Redis is down cannot be; one added right after the restart, before the reader is back.
      await redis.restart();
      const after = randomUUID();
      const second = nextCall(after);
      await emit(after);
      expect((await second).deliveries).toBe(1);
      // Entries of one stream are delivered in order: a group recreated from the start would have replayed
      // `before` ahead of `after`.
      expect(calls).toEqual([after]);
      await waitForPending(0); // acknowledged just after the handler returned
      expect(await server.readiness()).toEqual({ ready: true });
    } finally {
      handled.off('event', collect);
    }
  });

  it('close waits for a running handler, acknowledges its entry, and reads nothing more', async () => {
    const { app } = await startServer();
    const run = randomUUID();
    let release = () => undefined as void;
    held.set(run, new Promise<void>((resolve) => (release = resolve)));
    const running = nextCall(run, 'started');
    const done = nextCall(run);
    await emit(run);
    await running;

    let isClosed = false;
    const closing = app.close().then(() => (isClosed = true));
    started.splice(started.indexOf(app), 1);
    // Added after close began: left for the next consumer, never read by this one.
    const late = randomUUID();
    await emit(late);
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 300))]);
    expect(isClosed).toBe(false); // still draining: the handler is held
    release();
    await done;
    await closing;
    expect(await pending()).toBe(0); // the drained entry was acknowledged, the late one never delivered
    const [group] = (await plain.xinfo('GROUPS', stream())) as unknown[][];
    const lag = group[group.indexOf('lag') + 1];
    expect(lag).toBe(1);
    held.delete(run);
  });

  it('readiness (the health probe) says not ready while Redis is away, and ready again once it is back', async () => {
    const { server } = await startServer();
    expect(await server.readiness()).toEqual({ ready: true });
    const poll = async (wanted: boolean) => {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const state = await server.readiness();
        if (state.ready === wanted) return state;
        if (Date.now() > deadline) throw new Error(`readiness never became ${wanted}: ${JSON.stringify(state)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    let whileDown: Awaited<ReturnType<ServerRedisStreams['readiness']>> | undefined;
    await redis.restart(async () => {
      whileDown = await poll(false);
    });
    expect(whileDown).toEqual({ ready: false, reason: 'no successful read lately' });
    expect(await poll(true)).toEqual({ ready: true });
  });

  it('close returns while Redis is away (the blocked read is not waited for forever)', async () => {
    const { app } = await startServer();
    started.splice(started.indexOf(app), 1);
    let closedInMs = Number.NaN;
    await redis.restart(async () => {
      const begun = performance.now();
      await app.close();
      closedInMs = performance.now() - begun;
    });
    expect(closedInMs).toBeLessThan(5000);
  });

  it('a burst of bad entries (too large, not JSON) is dead-lettered and logged once, not once per entry', async () => {
    const deadLetterStream = `${prefix}dead-letters`;
    await startServer({ deadLetterStream, maxEntryBytes: 2048 });
    const pipeline = plain.pipeline();
    for (let index = 0; index < 10; index++) pipeline.xadd(stream(), '*', 'pattern', 'life.event', 'data', JSON.stringify({ run: 'x'.repeat(4096) }));
    for (let index = 0; index < 10; index++) pipeline.xadd(stream(), '*', 'pattern', 'life.event', 'data', '{not json');
    await pipeline.exec();
    const run = randomUUID();
    const call = nextCall(run);
    await emit(run);
    await call;
    const kinds = (await plain.xrange(deadLetterStream, '-', '+')).map(([, fields]) => fields[fields.indexOf('kind') + 1]);
    expect(kinds).toEqual([...Array(10).fill('too-large'), ...Array(10).fill('not-json')]);
    await waitForPending(0);
    expect(warnings.filter((line) => line.includes('too-large'))).toHaveLength(1);
    expect(warnings.filter((line) => line.includes('not-json'))).toHaveLength(1);
  });

  it('one slow handler does not hold the replica: entries added while it runs are handled, then it is acknowledged too', async () => {
    await startServer();
    const slow = randomUUID();
    const release = hold(slow);
    const slowStarted = nextCall(slow, 'started');
    const slowDone = nextCall(slow);
    await emit(slow);
    await slowStarted;
    const quick = [randomUUID(), randomUUID(), randomUUID()];
    const quickDone = quick.map((run) => nextCall(run));
    for (const run of quick) await emit(run);
    await Promise.all(quickDone); // while the slow one is still held
    await waitForPending(1); // the quick ones acknowledged, the slow one pending
    release();
    await slowDone;
    await waitForPending(0);
  });

  it('at most `concurrency` handlers run at once; the rest wait for a free slot, unread', async () => {
    const runs = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const releases = runs.map((run) => hold(run));
    for (const run of runs) await emit(run); // queued before the server starts: one read could take them all
    running.most = 0;
    const started = runs.map((run) => nextCall(run, 'started'));
    const done = runs.map((run) => nextCall(run));
    await startServer({ concurrency: 2 });
    await Promise.all(started.slice(0, 2));
    expect(await pending()).toBe(2); // the others were not even read: another replica may take them
    for (const release of releases) release();
    await Promise.all(done);
    expect(running.most).toBe(2);
    await waitForPending(0);
  });

  it('parentMode link: the CONSUMER span starts a new trace, linked to the PRODUCER span', async () => {
    await startServer({ tracing: { parentMode: 'link' } });
    const run = randomUUID();
    const call = nextCall(run);
    const parent = trace.getTracer('test').startSpan('request');
    await context.with(trace.setSpan(context.active(), parent), () => emit(run));
    parent.end();
    const { spanId } = await call;
    const consumer = await tracing.waitForSpan((span) => spanIdOf(span) === spanId);
    const producer = await tracing.waitForSpan((span) => span.kind === SpanKind.PRODUCER && traceIdOf(span) === parent.spanContext().traceId);
    expect(traceIdOf(consumer)).not.toBe(traceIdOf(producer));
    expect(parentSpanIdOf(consumer)).toBeUndefined();
    expect(consumer.links.map((link) => link.context.spanId)).toEqual([spanIdOf(producer)]);
  });
});
