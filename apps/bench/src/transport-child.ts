// One measurement, in a process of its own (a fresh V8, and the SDK loaded or not): messages through Redis, from
// publish to handler done. Prints one JSON line: { messagesPerSecond, p50Ms, p99Ms }.
// Environment: BENCH_MODE (raw|nest|traced), BENCH_REDIS_URL, BENCH_MESSAGES, BENCH_IN_FLIGHT.
import 'reflect-metadata';
import { EventEmitter, once } from 'node:events';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientRedis, EventPattern, Payload, ServerRedis } from '@nestjs/microservices';
import { flushSpans, redisConnectionOptions, TracedClientRedis, TracedServerRedis } from '@nest-redis-otel/tracing';
import { Redis } from 'ioredis';

const mode = process.env['BENCH_MODE'];
const redisUrl = process.env['BENCH_REDIS_URL'] ?? '';
const MESSAGES = Number(process.env['BENCH_MESSAGES']);
const IN_FLIGHT = Number(process.env['BENCH_IN_FLIGHT']);
const CHANNEL = 'bench.item.created';
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
}

@Module({ controllers: [BenchController] })
class BenchModule {}

/** Sends MESSAGES messages, at most IN_FLIGHT not yet handled at any time. */
async function drive(send: (index: number) => Promise<unknown>): Promise<number> {
  let completed = 0;
  handled.on('done', () => completed++);
  const started = performance.now();
  for (let index = 0; index < MESSAGES; index++) {
    while (index - completed >= IN_FLIGHT) await once(handled, 'done');
    sentAt.set(payload(index).id, performance.now());
    await send(index);
  }
  while (completed < MESSAGES) await once(handled, 'done');
  return performance.now() - started;
}

async function main(): Promise<void> {
  let elapsedMs: number;
  if (mode === 'raw') {
    const publisher = new Redis(redisUrl);
    const subscriber = new Redis(redisUrl);
    await subscriber.subscribe(CHANNEL);
    subscriber.on('message', (_channel: string, message: string) => done((JSON.parse(message) as { id: string }).id));
    elapsedMs = await drive((index) => publisher.publish(CHANNEL, JSON.stringify(payload(index))));
    publisher.disconnect();
    subscriber.disconnect();
  } else {
    const traced = mode === 'traced';
    const options = redisConnectionOptions(redisUrl);
    const server = traced ? new TracedServerRedis(options) : new ServerRedis(options);
    const app: INestMicroservice = await NestFactory.createMicroservice(BenchModule, { strategy: server, logger: false });
    await app.listen();
    const [, subscriber] = server.unwrap<[Redis, Redis]>();
    await subscriber.ping();
    const client = traced ? new TracedClientRedis(options) : new ClientRedis(options);
    await client.connect();
    elapsedMs = await drive(
      (index) => new Promise<void>((resolve, reject) => client.emit(CHANNEL, payload(index)).subscribe({ complete: resolve, error: reject })),
    );
    await client.close();
    await app.close();
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  process.stdout.write(`${JSON.stringify({ messagesPerSecond: (MESSAGES / elapsedMs) * 1000, p50Ms: at(0.5), p99Ms: at(0.99) })}\n`);
  // Outside the measurement: export what is buffered, for the spans-per-message count.
  await flushSpans();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
