// One measurement, in a process of its own (a fresh V8, and the SDK loaded or not): messages through Redis, from
// publish to handler done (events) or from send to reply (requests). Prints one JSON line (`ChildResult`).
// Environment: BENCH_TRANSPORT (raw|nest|ours|streams), BENCH_KIND (event|request), BENCH_REDIS_URL, BENCH_MESSAGES,
// BENCH_IN_FLIGHT. Whether the SDK runs is the parent's choice (`--import` of the apps' bootstrap or not).
import 'reflect-metadata';
import { EventEmitter, once } from 'node:events';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type ClientProxy, ClientRedis, EventPattern, MessagePattern, Payload, ServerRedis } from '@nestjs/microservices';
import { ClientRedisStreams, ServerRedisStreams } from '@nest-redis-otel/streams-transport';
import { flushSpans, redisConnectionOptions, TracedClientRedis, TracedServerRedis } from '@nest-redis-otel/tracing';
import { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';

export interface ChildResult {
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Event-loop delay over the measured stretch: how late a 5 ms timer fired, p99 (`monitorEventLoopDelay`). */
  loopDelayP99Ms: number;
  /** Resident memory at the end of the measured stretch. */
  rssMiB: number;
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

@Controller()
class BenchController {
  @EventPattern(CHANNEL)
  onItem(@Payload() item: { id: string }): void {
    done(item.id);
  }

  @MessagePattern(REQUEST)
  getItem(@Payload() request: { id: string }): { id: string; name: string } {
    return { id: request.id, name: 'Blue mug' };
  }
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

/** Warms the JIT (and the connections, the exporter) up first, then measures `MESSAGES` messages. */
async function measure(send: (index: number) => Promise<unknown>, loopDelay: IntervalHistogram): Promise<number> {
  await drive(send, MESSAGES, WARM_UP_MESSAGES);
  latencies.length = 0;
  loopDelay.enable();
  const elapsedMs = await drive(send, 0, MESSAGES);
  loopDelay.disable();
  return elapsedMs;
}

/** A request is done when its reply arrived: `send` must not wait for it, or only one would be in flight. */
function request(client: Pick<ClientProxy, 'send'>, index: number): Promise<void> {
  const { id } = payload(index);
  void lastValueFrom(client.send<{ id: string }>(REQUEST, { id })).then(
    (reply) => done(reply.id),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
  return Promise.resolve();
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
    const app: INestMicroservice = await NestFactory.createMicroservice(BenchModule, { strategy: server, logger: false });
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
          : new Promise<void>((resolve, reject) => client.emit(CHANNEL, payload(index)).subscribe({ complete: resolve, error: reject })),
      loopDelay,
    );
    await client.close();
    await app.close();
  }
  const rssMiB = process.memoryUsage.rss() / 2 ** 20;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  const result: ChildResult = {
    messagesPerSecond: (MESSAGES / elapsedMs) * 1000,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    loopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
    rssMiB,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Outside the measurement: export what is buffered, for the spans-per-message count (not towards a dead collector).
  if (process.env['BENCH_FLUSH'] !== '0') await flushSpans();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
