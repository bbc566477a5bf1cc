import { randomUUID } from 'node:crypto';
import { serveStack } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { type Figure, ms } from './figures';
import { deadLettersByKind, delay, isStored, timedFetch, until } from './probes';
import { summarize } from './scenarios';

const PUBLISH_TIMEOUT_MS = 1500;

/**
 * Redis frozen (SIGSTOP) for `seconds` while items are POSTed every 200 ms with an Idempotency-Key, then continued
 * (SIGCONT): the commands that waited in its sockets run then. Every POST must be answered within PUBLISH_TIMEOUT_MS,
 * and no item answered 503 may be stored afterwards (each must be refused as expired instead).
 */
export async function redisStall({ seconds, transport }: { seconds: number; transport: 'pubsub' | 'streams' }): Promise<Figure[]> {
  const stack = await serveStack({
    requirePrivateRedis: true,
    env: { MESSAGING_TRANSPORT: transport, PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS), OTEL_BSP_SCHEDULE_DELAY: '1000' },
  });
  const redis = new Redis(stack.redis.url);
  const post = async (name: string) => {
    const begun = performance.now();
    try {
      const response = await fetch(`${stack.baseUrl}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ name, price: 1 }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await response.json()) as { id?: string };
      return { name, status: response.status, ms: performance.now() - begun, id: body.id };
    } catch {
      return { name, status: 0, ms: performance.now() - begun, id: undefined };
    }
  };
  try {
    const before = await post('before the stall');
    if (before.status !== 202 || (await until(() => isStored(redis, before.id as string), 5000)) === undefined) {
      throw new Error('The stack does not work before the stall');
    }
    const { posts, pubs } = await stack.redis.stall(async () => {
      const sent: ReturnType<typeof post>[] = [];
      const published: ReturnType<typeof timedFetch>[] = [];
      const end = performance.now() + seconds * 1000;
      for (let index = 0; performance.now() < end; index++) {
        sent.push(post(`stalled ${index}`));
        if (index % 5 === 0) published.push(timedFetch(`${stack.baseUrl}/pub`));
        await delay(200);
      }
      return { posts: await Promise.all(sent), pubs: await Promise.all(published) };
    });
    // Redis runs what waited, the consumer judges it: wait until every stalled item is stored or dead-lettered.
    const names = new Set(posts.map(({ name }) => name));
    const judged = async () => {
      const stored = await storedNames(redis, names);
      const expired = (await deadLettersByKind(redis, transport)).get('expired') ?? 0;
      return { stored, expired };
    };
    await until(async () => {
      const { stored, expired } = await judged();
      return stored.size + expired >= posts.length;
    }, 15_000, 200);
    const { stored, expired } = await judged();
    const failed = posts.filter(({ status }) => status !== 202);
    const storedAfterFailure = failed.filter(({ name }) => stored.has(name)).length;
    const acceptedNotStored = posts.filter(({ status, name }) => status === 202 && !stored.has(name)).length;
    const slowest = Math.max(...posts.map((entry) => entry.ms));
    const pubSlowest = Math.max(...pubs.map((entry) => entry.ms));
    const scenario = `Redis stalled ${seconds} s (SIGSTOP), ${transport}`;
    return [
      { scenario, name: `POST /api/items while stalled (${posts.length}): status, slowest`, value: `${summarize(posts.map((entry) => entry.status))}, ${ms(slowest)}`, goal: `all 503, ≤ ${PUBLISH_TIMEOUT_MS + 500} ms`, pass: failed.length === posts.length && slowest <= PUBLISH_TIMEOUT_MS + 500 },
      { scenario, name: 'GET /api/pub while stalled: status, slowest', value: `${summarize(pubs.map((entry) => entry.status))}, ${ms(pubSlowest)}`, goal: `all 503, ≤ ${PUBLISH_TIMEOUT_MS + 500} ms`, pass: pubs.every((entry) => entry.status === 503) && pubSlowest <= PUBLISH_TIMEOUT_MS + 500 },
      { scenario, name: 'items answered 503 but stored after SIGCONT', value: `${storedAfterFailure} of ${failed.length}`, goal: '0', pass: storedAfterFailure === 0 },
      { scenario, name: 'stalled items dead-lettered as expired; answered 202 but not stored', value: `${expired}; ${acceptedNotStored}`, goal: `${posts.length} (every one that reached Redis); 0`, pass: expired === posts.length && acceptedNotStored === 0 },
    ];
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

/** Which of `names` are stored as `item:*` hashes. */
async function storedNames(redis: Redis, names: ReadonlySet<string>): Promise<Set<string>> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'item:*', 'COUNT', 1000);
    for (const key of keys) {
      const name = await redis.hget(key, 'name');
      if (name !== null && names.has(name)) found.add(name);
    }
    cursor = next;
  } while (cursor !== '0');
  return found;
}
