// One measurement, in a process of its own (a fresh V8, and the SDK loaded or not): messages through Redis, from
// publish to handler done (events) or from send to reply (requests). Prints one JSON line (`ChildResult`).
// Environment: BENCH_TRANSPORT (raw|nest|ours|streams), BENCH_KIND (event|request), BENCH_REDIS_URL, BENCH_MESSAGES,
// BENCH_IN_FLIGHT; BENCH_RECEIVER_URL (the counting receiver's control URL, for its counts and CPU); BENCH_OBSERVE
// (defaults|all: start @nestjs/observe on Nest's own transport, shipping to OBSERVE_ENDPOINT); BENCH_SDK_FLOOR=1: on Nest's
// own transport, the SDK's minimum per message done by hand (see `floor`). Whether the SDK runs is the parent's choice
// (`--import` of the apps' bootstrap or not).
import 'reflect-metadata';
import { EventEmitter, once } from 'node:events';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type ClientProxy, ClientRedis, EventPattern, MessagePattern, Payload, ServerRedis } from '@nestjs/microservices';
import { ClientRedisStreams, ServerRedisStreams } from '@nest-redis-otel/streams-transport';
import { flushSpans, redisConnectionOptions, TracedClientRedis, TracedServerRedis } from '@nest-redis-otel/tracing';
import { context as otelContext, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { lastValueFrom, type Observable } from 'rxjs';
import { observeOptions } from './observe-options';
import { pathDelta, readReceiverStats, type ReceiverStats, receiverCpuDelta } from './counting-receiver.client';

export interface ChildResult {
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Event-loop delay over the measured stretch: how late a 5 ms timer fired, p99 (`monitorEventLoopDelay`). */
  loopDelayP99Ms: number;
  /** Resident memory at the end of the measured stretch. */
  rssMiB: number;
  /** CPU per measured message, µs: this process's main thread (`process.threadCpuUsage()`), all its threads. */
  cpuMainUs: number;
  cpuChildUs: number;
  /** The counting receiver's process (undefined when the child exports elsewhere), and Redis (`INFO cpu`). */
  cpuReceiverUs?: number;
  cpuRedisUs: number;
  /**
   * What the counting receiver got from the start of the measured stretch until the child's last export (after its
   * flush), per 1,000 measured messages: requests, KiB, and items (OTLP: spans, Observe: traces) estimated from the
   * sampled decodes; `malformed`: sampled requests that did not decode. Undefined without a counting receiver.
   */
  shipped?: { requests: number; kib: number; items?: number; spans?: number; malformed: number };
}

const transport = process.env['BENCH_TRANSPORT'];
const kind = process.env['BENCH_KIND'] ?? 'event';
const redisUrl = process.env['BENCH_REDIS_URL'] ?? '';
const MESSAGES = Number(process.env['BENCH_MESSAGES']);
const IN_FLIGHT = Number(process.env['BENCH_IN_FLIGHT']);
/** Not measured: V8 compiles the hot paths (the traced ones are longer) during the first thousands of messages. */
const WARM_UP_MESSAGES = Math.min(5000, MESSAGES);
const CHANNEL = 'bench.item.created';
/** The histogram records the timer's whole interval, this included: subtracted from what is reported. */
const LOOP_DELAY_RESOLUTION_MS = 5;
const REQUEST = 'bench.item.get';
/** The payload items-api emits for POST /api/items. */
const payload = (index: number) => ({ id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`, name: 'Blue mug', price: 12.5, requestId: 'c0a8012e-7f3c-4d5e-9a1b-2c3d4e5f6a7b' });

const handled = new EventEmitter();
const sentAt = new Map<string, number>();
const latencies: number[] = [];
function done(id: string): void {
  const started = sentAt.get(id);
  if (started !== undefined) latencies.push(performance.now() - started);
  handled.emit('done');
}

/**
 * The OpenTelemetry SDK's minimum per message, done by hand on Nest's own transport, with no code of ours: a PRODUCER
 * span, its context injected into the payload (`metadata`, the 85 bytes ours adds too), extracted by the handler, a
 * CONSUMER span around it (`context.with`), both ended, with the attributes of ours. The same SDK calls as the "SDK
 * alone" rows, but in the loop: what any OpenTelemetry instrumentation making two spans per message pays here.
 */
const floor = process.env['BENCH_SDK_FLOOR'] === '1';
const floorTracer = () => trace.getTracer('bench-floor');
const floorAttributes = (operation: string, destination: string) => ({
  'messaging.system': 'redis',
  'messaging.destination.name': destination,
  'messaging.operation.type': operation,
  'messaging.operation.name': operation,
  'server.address': '127.0.0.1',
  'server.port': 6379,
});
function floorConsume<T>(destination: string, metadata: Record<string, string> | undefined, handle: () => T): T {
  const parent = propagation.extract(ROOT_CONTEXT, metadata ?? {});
  const span = floorTracer().startSpan(`process ${destination}`, { kind: SpanKind.CONSUMER, attributes: floorAttributes('process', destination) }, parent);
  try {
    return otelContext.with(trace.setSpan(parent, span), handle);
  } finally {
    span.end();
  }
}

@Controller()
class BenchController {
  @EventPattern(CHANNEL)
  onItem(@Payload() item: { id: string; metadata?: Record<string, string> }): void {
    if (floor) floorConsume(CHANNEL, item.metadata, () => done(item.id));
    else done(item.id);
  }

  @MessagePattern(REQUEST)
  getItem(@Payload() request: { id: string; metadata?: Record<string, string> }): { id: string; name: string } {
    const reply = () => ({ id: request.id, name: 'Blue mug' });
    return floor ? floorConsume(REQUEST, request.metadata, reply) : reply();
  }
}

/** Sends under a PRODUCER span whose context travels in the payload; the span ends when `send` settles. */
function floorProduce<T extends object>(destination: string, data: T, send: (data: T & { metadata: Record<string, string> }) => Promise<void>): Promise<void> {
  const active = otelContext.active();
  const span = floorTracer().startSpan(`send ${destination}`, { kind: SpanKind.PRODUCER, attributes: floorAttributes('send', destination) }, active);
  const metadata: Record<string, string> = {};
  propagation.inject(trace.setSpan(active, span), metadata);
  return send({ ...data, metadata }).finally(() => span.end());
}

@Module({ controllers: [BenchController] })
class BenchModule {}

/**
 * Sends `count` messages numbered from `first`, at most IN_FLIGHT not yet done at any time; `send` resolves once the
 * message is sent. Returns the milliseconds until the last one was done.
 */
async function drive(send: (index: number) => Promise<unknown>, first: number, count: number): Promise<number> {
  let completed = 0;
  const onDone = () => completed++;
  handled.on('done', onDone);
  const started = performance.now();
  for (let index = first; index < first + count; index++) {
    while (index - first - completed >= IN_FLIGHT) await once(handled, 'done');
    sentAt.set(payload(index).id, performance.now());
    await send(index);
  }
  while (completed < count) await once(handled, 'done');
  handled.off('done', onDone);
  return performance.now() - started;
}

interface CpuReading {
  main: number;
  total: number;
  redis: number;
  receiver?: ReceiverStats;
}
const receiverUrl = process.env['BENCH_RECEIVER_URL'];
let infoConnection: Redis | undefined;
/** Redis's own CPU, µs (used_cpu_user + used_cpu_sys). */
async function redisCpu(): Promise<number> {
  infoConnection ??= new Redis(redisUrl);
  const info = await infoConnection.info('cpu');
  const field = (name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}
/** Read outside the measured stretch (the other processes first, this one last at the start and first at the end). */
async function readCpu(order: 'start' | 'end'): Promise<CpuReading> {
  const own = () => {
    const thread = process.threadCpuUsage();
    const all = process.cpuUsage();
    return { main: thread.user + thread.system, total: all.user + all.system };
  };
  const atEnd = order === 'end' ? own() : undefined;
  const redis = await redisCpu();
  const receiver = receiverUrl ? await readReceiverStats(receiverUrl) : undefined;
  return { ...(atEnd ?? own()), redis, receiver };
}
let cpuStart: CpuReading;
let cpuEnd: CpuReading;

/** Warms the JIT (and the connections, the exporter) up first, then measures `MESSAGES` messages. */
async function measure(send: (index: number) => Promise<unknown>, loopDelay: IntervalHistogram): Promise<number> {
  await drive(send, MESSAGES, WARM_UP_MESSAGES);
  // The warm-up's telemetry is shipped before the receiver's counts are read, so that it is not counted.
  await shipBuffered();
  latencies.length = 0;
  cpuStart = await readCpu('start');
  loopDelay.enable();
  const elapsedMs = await drive(send, 0, MESSAGES);
  loopDelay.disable();
  cpuEnd = await readCpu('end');
  return elapsedMs;
}

/** Exports what is buffered: the SDK's batch (not towards a dead collector), or one more flush of Observe's timer. */
async function shipBuffered(): Promise<void> {
  const observe = process.env['BENCH_OBSERVE'];
  // Observe ships from a timer (its flushInterval) and does not flush on close: one more tick, and its worker's POST.
  if (observe) await new Promise((resolve) => setTimeout(resolve, (observeOptions(observe, '').flushInterval ?? 5000) + 700));
  else if (process.env['BENCH_FLUSH'] !== '0') await flushSpans();
}

/** @nestjs/observe on Nest's own transport: its module, and the instrument for `NestFactory.createMicroservice`. */
function observeSetup(): { imports: unknown[]; instrument?: unknown } {
  const mode = process.env['BENCH_OBSERVE'];
  if (!mode) return { imports: [] };
  // Loaded only here: it is ESM (require(esm)), and the other children must not pay for it.
  const { createObserveModule } = require('@nestjs/observe') as typeof import('@nestjs/observe');
  const { ObserveModule, ObserveInstrument } = createObserveModule();
  return { imports: [ObserveModule.forRoot(observeOptions(mode, `bench-${process.pid}`))], instrument: ObserveInstrument };
}

/** A request is done when its reply arrived: `send` must not wait for it, or only one would be in flight. */
function request(client: Pick<ClientProxy, 'send'>, index: number): Promise<void> {
  const { id } = payload(index);
  // The PRODUCER span covers send → reply, as ours does.
  if (floor) void floorProduce(REQUEST, { id }, (data) => awaitReply(client.send<{ id: string }>(REQUEST, data)));
  else void awaitReply(client.send<{ id: string }>(REQUEST, { id }));
  return Promise.resolve();
}

function awaitReply(reply$: Observable<{ id: string }>): Promise<void> {
  return lastValueFrom(reply$).then(
    (reply) => done(reply.id),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

async function main(): Promise<void> {
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  let elapsedMs: number;
  if (transport === 'raw') {
    const publisher = new Redis(redisUrl);
    const subscriber = new Redis(redisUrl);
    await subscriber.subscribe(CHANNEL);
    subscriber.on('message', (_channel: string, message: string) => done((JSON.parse(message) as { id: string }).id));
    elapsedMs = await measure((index) => publisher.publish(CHANNEL, JSON.stringify(payload(index))), loopDelay);
    publisher.disconnect();
    subscriber.disconnect();
  } else {
    const ours = transport === 'ours';
    const streams = transport === 'streams';
    const options = redisConnectionOptions(redisUrl);
    const server = streams
      ? new ServerRedisStreams({ url: redisUrl, group: `bench-${process.pid}`, streamPrefix: `bench-${process.pid}:` })
      : ours
        ? new TracedServerRedis(options)
        : new ServerRedis(options);
    const observe = observeSetup();
    const app: INestMicroservice = await NestFactory.createMicroservice(
      { module: BenchModule, imports: observe.imports as [] },
      { strategy: server, logger: false, ...(observe.instrument !== undefined && { instrument: observe.instrument as never }) },
    );
    await app.listen();
    const [, subscriber] = server.unwrap<[Redis, Redis]>();
    await subscriber.ping();
    const client = streams
      ? new ClientRedisStreams({ url: redisUrl, streamPrefix: `bench-${process.pid}:` })
      : ours
        ? new TracedClientRedis(options)
        : new ClientRedis(options);
    await client.connect();
    elapsedMs = await measure(
      (index) =>
        kind === 'request'
          ? request(client, index)
          : floor
            ? floorProduce(CHANNEL, payload(index), (data) => emitted(client, data))
            : emitted(client, payload(index)),
      loopDelay,
    );
    await client.close();
    await shipBuffered();
    await app.close();
  }
  const rssMiB = process.memoryUsage.rss() / 2 ** 20;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  // Outside the measurement: export what is buffered, for the spans-per-message count (not towards a dead collector).
  if (transport === 'raw') await shipBuffered();
  const shippedUntil = receiverUrl ? await readReceiverStats(receiverUrl) : undefined;
  const perMessage = (start: number, end: number) => (end - start) / MESSAGES;
  const result: ChildResult = {
    messagesPerSecond: (MESSAGES / elapsedMs) * 1000,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    loopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
    rssMiB,
    cpuMainUs: perMessage(cpuStart.main, cpuEnd.main),
    cpuChildUs: perMessage(cpuStart.total, cpuEnd.total),
    cpuRedisUs: perMessage(cpuStart.redis, cpuEnd.redis),
    ...(cpuStart.receiver && cpuEnd.receiver && { cpuReceiverUs: receiverCpuDelta(cpuStart.receiver, cpuEnd.receiver) / MESSAGES }),
    ...(cpuStart.receiver && shippedUntil && { shipped: shippedPer1000(pathDelta(cpuStart.receiver, shippedUntil)) }),
  };
  infoConnection?.disconnect();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function emitted(client: Pick<ClientProxy, 'emit'>, data: unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => client.emit(CHANNEL, data).subscribe({ complete: resolve, error: reject }));
}

function shippedPer1000(paths: ReturnType<typeof pathDelta>): NonNullable<ChildResult['shipped']> {
  const per1000 = (value: number) => (value / MESSAGES) * 1000;
  let requests = 0;
  let bytes = 0;
  let items = 0;
  let spans = 0;
  let malformed = 0;
  let sampled = 0;
  for (const count of Object.values(paths)) {
    requests += count.requests;
    bytes += count.bytes;
    malformed += count.malformed;
    sampled += count.sampled;
    // Items per request from the sampled decodes, times the requests.
    if (count.sampled > 0) {
      items += (count.sampledItems / count.sampled) * count.requests;
      spans += (count.sampledSpans / count.sampled) * count.requests;
    }
  }
  return {
    requests: per1000(requests),
    kib: per1000(bytes) / 1024,
    ...(sampled > 0 && { items: per1000(items), spans: per1000(spans) }),
    malformed,
  };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
