// MESSAGING_TRANSPORT=streams under faults: the consumer killed (SIGKILL) and Redis restarted while items arrive,
// then three consumer replicas sharing one group. Every accepted item is tracked by its id.
import { ATTR_DELIVERY_COUNT, entryFields } from '@nest-redis-otel/streams-transport';
import { findFreePort, OtlpTraceReceiver, type RedisTestServer, serveBuiltApp, type ServedApp, startRedisTestServer } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { type Figure, ms } from './figures';
import { delay, postAtRate, until } from './probes';

export interface StreamsDurations {
  /** Seconds of load, and the rate, in the kill/restart scenario. */
  seconds: number;
  rate: number;
  /** Entries queued for the replica scenario. */
  backlog: number;
}

const STREAMS_ENV = { MESSAGING_TRANSPORT: 'streams', STREAMS_CLAIM_IDLE_MS: '5000', OTEL_BSP_SCHEDULE_DELAY: '1000' };
const STORED = /stored item:([0-9a-f-]{36})/;

interface Stack {
  redis: RedisTestServer;
  receiver: OtlpTraceReceiver;
  env: Record<string, string>;
  consumers: ServedApp[];
  /** Every line of every consumer that ever ran, the killed ones included. */
  consumerLines(): string[];
  stop(): Promise<void>;
}

async function startStack(): Promise<Stack> {
  const redis = await startRedisTestServer({ requirePrivate: true, appendOnly: true });
  const receiver = await OtlpTraceReceiver.start();
  const env = { ...STREAMS_ENV, REDIS_URL: redis.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint };
  const consumers: ServedApp[] = [];
  return {
    redis,
    receiver,
    env,
    consumers,
    consumerLines: () => consumers.flatMap((consumer) => consumer.lines),
    stop: async () => {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      await Promise.all([receiver.stop(), redis.stop()]);
    },
  };
}

async function startConsumer(stack: Stack, name: string): Promise<ServedApp> {
  const consumer = await serveBuiltApp(
    'redis-consumer',
    { ...stack.env, STREAMS_CONSUMER: name, HEALTH_PORT: String(await findFreePort()) },
    'redis-consumer subscribed',
  );
  stack.consumers.push(consumer);
  return consumer;
}

/** How many times each item was stored (handled), from the consumers' logs. */
function storedCounts(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const id = STORED.exec(line)?.[1];
    if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * Items flow at `rate` for `seconds`; meanwhile the consumer is SIGKILLed twice (and started again under the same
 * name, so that it takes its own pending entries first) and Redis, with an append-only file, is restarted once.
 */
export async function streamsKillAndRestart({ seconds, rate }: StreamsDurations): Promise<Figure[]> {
  const stack = await startStack();
  const check = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
  check.on('error', () => undefined); // Redis restarts on purpose
  const apiPort = await findFreePort();
  const api = await serveBuiltApp('items-api', { ...stack.env, PORT: String(apiPort) }, 'items-api listening');
  try {
    let consumer = await startConsumer(stack, 'worker');
    const load = postAtRate(`http://127.0.0.1:${apiPort}/api`, rate, seconds, 'streams fault');
    const at = (fraction: number) => delay(fraction * seconds * 1000);
    const kill = async () => {
      consumer.process.kill('SIGKILL');
      await new Promise((resolve) => consumer.process.once('exit', resolve));
      await delay(1000);
      consumer = await startConsumer(stack, 'worker');
    };
    const faults = (async () => {
      await at(0.25);
      await kill();
      await at(0.15);
      await stack.redis.restart(async () => {
        await delay(2000);
      });
      await at(0.15);
      await kill();
    })();
    const [{ accepted, refused }] = await Promise.all([load, faults]);
    // The consumer works through what is left, pending entries of the killed runs included (claimed after 5 s).
    const missing = async () => {
      const results = await Promise.all(chunks(accepted, 1000).map((ids) => check.pipeline(ids.map((id) => ['exists', `item:${id}`])).exec()));
      return results.flatMap((result) => result ?? []).filter(([error, exists]) => error || exists !== 1).length;
    };
    const settledIn = await until(async () => (await missing()) === 0, 60_000, 500);
    const lost = await missing();
    // SIGTERM makes the live consumer export its last spans: those of the redeliveries are counted below.
    await Promise.all(stack.consumers.map((running) => running.stop()));
    const redelivered = new Set(
      stack.receiver.spans
        .filter((span) => span.kind === 'CONSUMER' && span.name === 'process item.created' && Number(span.attributes[ATTR_DELIVERY_COUNT] ?? 1) > 1)
        .map((span) => span.attributes['messaging.message.id']),
    ).size;
    const counts = storedCounts(stack.consumerLines());
    const handled = [...counts.values()].reduce((sum, count) => sum + count, 0);
    const duplicates = handled - counts.size;
    const scenario = `streams: ${rate}/s × ${seconds} s, consumer SIGKILL ×2, Redis (AOF) restart ×1`;
    // In flight at a fault: a read batch (32 entries) per kill, and per Redis restart what was handled but not acked.
    const bound = 3 * 32;
    return [
      { scenario, name: 'items accepted (202) / refused while Redis restarted', value: `${accepted.length} / ${refused}`, goal: 'reported', pass: accepted.length > 0 },
      { scenario, name: 'accepted items never stored (lost)', value: `${lost}${settledIn === undefined ? '' : `, all stored ${ms(settledIn)} after the load`}`, goal: '0', pass: lost === 0 },
      { scenario, name: 'items handled twice (duplicates, from the consumers’ logs)', value: String(duplicates), goal: `≤ ${bound} (what was in flight at the faults)`, pass: duplicates >= 0 && duplicates <= bound },
      { scenario, name: 'entries delivered again (delivery count > 1 on the CONSUMER spans)', value: String(redelivered), goal: `≤ ${bound}`, pass: redelivered <= bound },
      { scenario, name: 'pending entries left in the group', value: String(await pendingOf(check)), goal: '0', pass: (await pendingOf(check)) === 0 },
    ];
  } finally {
    check.disconnect();
    await api.stop();
    await stack.stop();
  }
}

/**
 * A backlog of `backlog` entries drained by one replica, then another backlog by three replicas of one group: each
 * entry handled once, and how the rate scales on this machine.
 */
export async function streamsReplicas({ backlog }: StreamsDurations): Promise<Figure[]> {
  const stack = await startStack();
  const redis = new Redis(stack.redis.url);
  try {
    const drain = async (replicas: number, run: string) => {
      // The group exists once a consumer listened; the consumers are then stopped while the backlog is queued.
      const names = Array.from({ length: replicas }, (_, index) => `${run}-${index + 1}`);
      const ids = Array.from({ length: backlog }, (_, index) => `${run.padEnd(8, '0').slice(0, 8)}-0000-4000-8000-${String(index).padStart(12, '0')}`);
      for (const batch of chunks(ids, 1000)) {
        const pipeline = redis.pipeline();
        for (const id of batch) pipeline.xadd('stream:item.created', '*', ...entryFields('item.created', { id, name: 'backlog', price: 1, requestId: run }, {}));
        await pipeline.exec();
      }
      await Promise.all(names.map((name) => startConsumer(stack, name)));
      await until(async () => countIds(stack, ids) === ids.length, 120_000, 200);
      // From the first entry stored to the last, by the consumers' own log times: the replicas' start-up aside.
      const wanted = new Set(ids);
      const times: number[] = [];
      const counts = new Map<string, number>();
      for (const line of stack.consumerLines()) {
        const id = STORED.exec(line)?.[1];
        if (!id || !wanted.has(id)) continue;
        counts.set(id, (counts.get(id) ?? 0) + 1);
        times.push((JSON.parse(line) as { time: number }).time);
      }
      await Promise.all(stack.consumers.splice(0).map((consumer) => consumer.stop()));
      const seconds = Math.max(1, Math.max(...times) - Math.min(...times)) / 1000;
      const perId = ids.map((id) => counts.get(id) ?? 0);
      return { perSecond: backlog / seconds, twice: perId.filter((count) => count > 1).length, missing: perId.filter((count) => count === 0).length };
    };
    // First start: creates the group (from the start of the stream), then leaves.
    await startConsumer(stack, 'warm-up');
    await Promise.all(stack.consumers.splice(0).map((consumer) => consumer.stop()));
    const one = await drain(1, 'aaaaaaaa');
    const three = await drain(3, 'bbbbbbbb');
    const scenario = `streams: ${backlog} queued entries, 1 then 3 replicas in one group`;
    return [
      { scenario, name: 'entries handled by none / by more than one replica (1 replica; 3 replicas)', value: `${one.missing} / ${one.twice}; ${three.missing} / ${three.twice}`, goal: '0 / 0; 0 / 0', pass: one.missing + one.twice + three.missing + three.twice === 0 },
      {
        scenario,
        name: 'drain rate, 1 → 3 replicas',
        value: `${one.perSecond.toFixed(0)} → ${three.perSecond.toFixed(0)} /s (× ${(three.perSecond / one.perSecond).toFixed(2)})`,
        goal: 'reported: 2 cores shared by Redis and the replicas',
        pass: true,
      },
    ];
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

/** How many of `ids` the consumers logged as stored. */
function countIds(stack: Stack, ids: string[]): number {
  const counts = storedCounts(stack.consumerLines());
  return ids.filter((id) => counts.has(id)).length;
}

async function pendingOf(redis: Redis): Promise<number> {
  const [count] = (await redis.xpending('stream:item.created', 'redis-consumer')) as [number];
  return count;
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let index = 0; index < items.length; index += size) result.push(items.slice(index, index + size));
  return result;
}
