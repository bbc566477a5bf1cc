// Hostile messages among real traffic: `item.created` packets whose fields hold JSON nested thousands of levels deep
// (a parser or a validator that recurses overflows its stack on them), sent straight to Redis while items-api takes a
// steady POST load. redis-consumer must refuse each one as a dead letter of its kind, stay alive, and go on storing
// every item items-api accepted.
import { randomUUID } from 'node:crypto';
import { serveStack } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import type { Figure } from './figures';
import { deadLettersByKind, delay, postAtRate, rssMiB, until } from './probes';

export interface DeepNestingOptions {
  seconds: number;
  /** POST /api/items per second meanwhile. */
  rate: number;
  transport: 'pubsub' | 'streams';
}

const CHANNEL = 'item.created';
const STREAM = `stream:${CHANNEL}`;
const HOSTILE_EVERY_MS = 100;

/** The data of each hostile message (JSON text, as sent), and the kind of dead letter it must become. */
const HOSTILE: { data: (id: string) => string; kind: string }[] = [
  // 10 kB: 5000 levels of arrays as the name.
  { data: (id) => `{"id":"${id}","name":${'['.repeat(5000)}${']'.repeat(5000)},"price":1,"requestId":"faults"}`, kind: 'too-deep' },
  // 12 kB: 2000 levels of objects as the request id.
  { data: (id) => `{"id":"${id}","name":"deep","price":1,"requestId":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`, kind: 'too-deep' },
  // Under the depth cap: the guard lets it through, the payload contract refuses it.
  { data: (id) => `{"id":"${id}","name":${'['.repeat(20)}${']'.repeat(20)},"price":1,"requestId":"faults"}`, kind: 'invalid-payload' },
];
/** Brackets inside a string are no nesting: a valid item that must be stored. */
const bracketsInAString = (id: string) => `{"id":"${id}","name":"${'['.repeat(150)}","price":1,"requestId":"faults"}`;

/**
 * For `seconds`, items POSTed at `rate` per second while a hostile message is sent every HOSTILE_EVERY_MS (on the
 * channel, or as a stream entry), and every tenth time an item whose name is a string of brackets.
 */
export async function deepNesting({ seconds, rate, transport }: DeepNestingOptions): Promise<Figure[]> {
  const stack = await serveStack({ requirePrivateRedis: true, env: { MESSAGING_TRANSPORT: transport, OTEL_BSP_SCHEDULE_DELAY: '1000' } });
  const redis = new Redis(stack.redis.url);
  const send = (data: string) =>
    transport === 'pubsub' ? redis.publish(CHANNEL, `{"pattern":"${CHANNEL}","data":${data}}`) : redis.xadd(STREAM, '*', 'pattern', CHANNEL, 'data', data);
  try {
    const rssBefore = rssMiB(stack.consumer.process.pid);
    const load = postAtRate(stack.baseUrl, rate, seconds, 'deep nesting load');
    const sent = new Map<string, number>();
    const brackets: string[] = [];
    const started = performance.now();
    for (let index = 0; performance.now() - started < seconds * 1000; index++) {
      const hostile = HOSTILE[index % HOSTILE.length];
      await send(hostile.data(randomUUID()));
      sent.set(hostile.kind, (sent.get(hostile.kind) ?? 0) + 1);
      if (index % 10 === 0) {
        const id = randomUUID();
        brackets.push(id);
        await send(bracketsInAString(id));
      }
      await delay(HOSTILE_EVERY_MS);
    }
    const { accepted, refused } = await load;
    const hostileCount = [...sent.values()].reduce((sum, count) => sum + count, 0);
    const judged = async () => {
      const letters = await deadLettersByKind(redis, transport);
      return { letters, stored: await storedCount(redis, accepted), bracketsStored: await storedCount(redis, brackets) };
    };
    await until(async () => {
      const { letters, stored, bracketsStored } = await judged();
      const lettered = [...letters.values()].reduce((sum, count) => sum + count, 0);
      return lettered >= hostileCount && stored === accepted.length && bracketsStored === brackets.length;
    }, 20_000, 200);
    const { letters, stored, bracketsStored } = await judged();
    const consumer = stack.consumer.process;
    const deaths = consumer.exitCode !== null || consumer.signalCode !== null ? 1 : 0;
    const health = deaths ? 0 : (await fetch(stack.consumerHealthUrl, { signal: AbortSignal.timeout(5000) }).catch(() => undefined))?.status ?? 0;
    const unexpected = [...letters].filter(([kind]) => !sent.has(kind));
    const byKind = [...sent].map(([kind, count]) => `${kind} ${letters.get(kind) ?? 0} / ${count}`).concat(unexpected.map(([kind, count]) => `${kind} ${count} (unexpected)`));
    const scenario = `deep nesting: ${hostileCount} hostile messages among ${rate} req/s × ${seconds} s, ${transport}`;
    return [
      { scenario, name: 'redis-consumer deaths; its /health at the end', value: `${deaths}; ${health || 'no answer'}`, goal: '0; 200', pass: deaths === 0 && health === 200 },
      {
        scenario,
        name: `hostile messages dead-lettered, by kind (${transport === 'pubsub' ? 'redis-consumer:dead-letters' : 'stream:dead-letters'})`,
        value: byKind.join(', '),
        goal: 'each one, with its kind',
        pass: unexpected.length === 0 && [...sent].every(([kind, count]) => letters.get(kind) === count),
      },
      {
        scenario,
        name: 'items accepted / stored (lost); answers other than 202',
        value: `${accepted.length} / ${stored} (${accepted.length - stored}); ${refused}`,
        goal: '0 lost; 0',
        pass: accepted.length > 0 && stored === accepted.length && refused === 0,
      },
      { scenario, name: 'items named with 150 "[" in a string (not nesting) stored', value: `${bracketsStored} / ${brackets.length}`, goal: 'all', pass: bracketsStored === brackets.length },
      { scenario, name: 'redis-consumer RSS before / after', value: `${rssBefore.toFixed(0)} / ${rssMiB(consumer.pid).toFixed(0)} MiB`, goal: 'reported', pass: true },
    ];
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

/** How many of the items `ids` are stored (one EXISTS per id, pipelined). */
async function storedCount(redis: Redis, ids: readonly string[]): Promise<number> {
  const results = (await redis.pipeline(ids.map((id) => ['exists', `item:${id}`])).exec()) ?? [];
  return results.filter(([error, exists]) => !error && exists === 1).length;
}
