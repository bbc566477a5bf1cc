/*
 * Anyone who can PUBLISH or XADD can write to redis-consumer. The unit specs show that the guard and the contract
 * checks classify each message; what they cannot show is the whole app, built as main.ts builds it, on a real Redis:
 * that nothing a publisher sends ends the process or reaches Redis as a bogus key (`item:undefined`), that each
 * refusal lands in the dead letters with its kind, that a request with a bad payload is answered rather than left
 * to time out, and that in streams mode item messages are taken from the streams only.
 */
import 'reflect-metadata';
import { EventEmitter } from 'node:events';
import type { INestApplication } from '@nestjs/common';
import { INVALID_PAYLOAD, type DeadLetter } from '@nest-redis-otel/tracing';
import { ITEM_CREATED, ITEM_GET, TUTORIAL_CHANNEL } from '@nest-redis-otel/item-messages';
import { entryFields } from '@nest-redis-otel/streams-transport';
import { type RedisTestServer, startRedisTestServer, waitUntil } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { type AppConfig, loadConfig } from './config';
import { createConsumerApp } from './consumer-app';

const DEAD_LETTERS = 'redis-consumer:dead-letters';
const STREAM_DEAD_LETTERS = 'stream:dead-letters';
const WAIT = { timeoutMs: 10_000 };
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const item = (n: number) => ({ id: uuid(n), name: `item ${n}`, price: 1, requestId: `r-${n}` });
const packet = (data: unknown) => JSON.stringify({ pattern: ITEM_CREATED, data });
/** Nested arrays, as raw JSON text: thousands of levels fit easily in the size cap. */
const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

/** Redis's keyspace events (HSET, LPUSH, XADD…) as they happen: what a test awaits instead of sleeping. */
class KeyEvents extends EventEmitter {
  readonly seen: string[] = [];
  private constructor(private readonly subscriber: Redis) {
    super();
  }
  static async watch(url: string, admin: Redis): Promise<KeyEvents> {
    await admin.config('SET', 'notify-keyspace-events', 'Elht');
    const subscriber = new Redis(url);
    const events = new KeyEvents(subscriber);
    await subscriber.psubscribe('__keyevent@0__:*');
    subscriber.on('pmessage', (_pattern: string, channel: string, key: string) => {
      events.seen.push(`${channel.slice(channel.indexOf(':') + 1)} ${key}`);
      events.emit('event');
    });
    return events;
  }
  count(event: string): number {
    return this.seen.filter((seen) => seen === event).length;
  }
  close(): void {
    this.subscriber.disconnect();
  }
}

describe('redis-consumer against hostile messages (real Redis)', () => {
  let redisServer: RedisTestServer;
  let redis: Redis;
  let events: KeyEvents;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    redisServer = await startRedisTestServer({ requirePrivate: true });
    redis = new Redis(redisServer.url);
    events = await KeyEvents.watch(redisServer.url, redis);
    process.on('unhandledRejection', onRejection);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    events?.close();
    await redis?.quit();
    await redisServer?.stop();
  });

  afterEach(() => expect(rejections).toEqual([]));

  async function startConsumer(env: Record<string, string> = {}): Promise<INestApplication> {
    const config: AppConfig = loadConfig({ REDIS_URL: redisServer.url, HEALTH_PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'error', ...env });
    const { app } = await createConsumerApp(config);
    await app.startAllMicroservices();
    await app.listen(0);
    return app;
  }

  const deadLetters = async () => (await redis.lrange(DEAD_LETTERS, 0, -1)).map((entry) => JSON.parse(entry) as DeadLetter).reverse();
  const waitForStored = (n: number) =>
    waitUntil(events, 'event', () => events.count(`hset item:${uuid(n)}`) > 0, { ...WAIT, what: `item ${n} stored`, describeState: () => events.seen.join('\n  ') });

  describe('pub/sub (MESSAGING_TRANSPORT=pubsub)', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await startConsumer();
    }, 30_000);
    afterAll(() => app?.close());

    it('refuses deep JSON and payloads that break the contract into the dead letters, stores no bogus key, keeps handling', async () => {
      const before = events.count(`lpush ${DEAD_LETTERS}`);
      const bad: [kind: string, channel: string, raw: string][] = [
        ['too-deep', ITEM_CREATED, `{"pattern":"${ITEM_CREATED}","data":{"id":"${uuid(1)}","name":"x","price":1,"requestId":${deep(5000)}}}`],
        ['too-deep', ITEM_CREATED, `{"pattern":"${ITEM_CREATED}","data":{"id":"${uuid(2)}","name":${deep(5000)},"price":1,"requestId":"r"}}`],
        ['too-deep', TUTORIAL_CHANNEL, `{"message":${deep(5000)},"request_id":"r"}`],
        ['invalid-payload', ITEM_CREATED, packet({ name: 'no id', price: 1, requestId: 'r' })],
        ['invalid-payload', ITEM_CREATED, packet('just a string')],
        ['invalid-payload', ITEM_CREATED, packet({ ...item(3), requestId: [[['nested']]] })],
        ['invalid-payload', ITEM_CREATED, packet({ ...item(4), name: { toString: 'x' } })],
        ['invalid-payload', TUTORIAL_CHANNEL, JSON.stringify({ message: [[1]], request_id: 'r' })],
      ];
      for (const [, channel, raw] of bad) await redis.publish(channel, raw);
      await redis.publish(ITEM_CREATED, packet(item(5)));

      await waitForStored(5);
      await waitUntil(events, 'event', () => events.count(`lpush ${DEAD_LETTERS}`) >= before + bad.length, {
        ...WAIT,
        what: `${bad.length} dead letters`,
        describeState: () => events.seen.join('\n  '),
      });
      const letters = (await deadLetters()).slice(-bad.length);
      expect(letters.map((letter) => [letter.kind, letter.channel])).toEqual(bad.map(([kind, channel]) => [kind, channel]));
      expect(letters[3]).toMatchObject({ channel: ITEM_CREATED, reason: expect.stringContaining('id must be a UUID string, got nothing') });
      expect(letters[4].reason).toContain('the payload must be a JSON object, got a string');
      expect(await redis.keys('item:*')).toEqual([`item:${uuid(5)}`]);
    }, 15_000);

    it('answers an item.get whose payload breaks the contract with an INVALID_PAYLOAD error', async () => {
      const replies = new Redis(redisServer.url);
      try {
        await replies.subscribe(`${ITEM_GET}.reply`);
        const reply = new Promise<Record<string, unknown>>((resolve) => replies.on('message', (_channel: string, message: string) => resolve(JSON.parse(message))));
        await redis.publish(ITEM_GET, JSON.stringify({ pattern: ITEM_GET, data: { id: ['not', 'a', 'uuid'] }, id: 'request-1' }));
        expect(await reply).toMatchObject({
          id: 'request-1',
          isDisposed: true,
          err: { code: INVALID_PAYLOAD, message: 'invalid item.get payload: id must be a UUID string, got an array' },
        });
      } finally {
        replies.disconnect();
      }
    }, 15_000);
  });

  describe('streams (MESSAGING_TRANSPORT=streams)', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await startConsumer({ MESSAGING_TRANSPORT: 'streams', STREAMS_CONSUMER: 'hostile-input' });
    }, 30_000);
    afterAll(() => app?.close());

    it('reads item messages from the streams only: no pub/sub subscriber on their channels, the tutorial channel kept', async () => {
      const counts = (await redis.call('PUBSUB', 'NUMSUB', ITEM_CREATED, `${ITEM_GET}`, TUTORIAL_CHANNEL)) as (string | number)[];
      expect(counts).toEqual([ITEM_CREATED, 0, ITEM_GET, 0, TUTORIAL_CHANNEL, 1]);
    });

    it('dead-letters stream entries that break the contract, at once and acknowledged, and handles the next', async () => {
      const before = events.count(`xadd ${STREAM_DEAD_LETTERS}`);
      const ids = [
        await redis.xadd('stream:item.created', '*', ...entryFields(ITEM_CREATED, 'just a string', {})),
        await redis.xadd('stream:item.created', '*', ...entryFields(ITEM_CREATED, { ...item(6), id: undefined }, {})),
        await redis.xadd('stream:item.created', '*', 'pattern', ITEM_CREATED, 'data', `{"id":"${uuid(7)}","name":${deep(5000)}}`),
        await redis.xadd('stream:item.created', '*', ...entryFields(ITEM_CREATED, item(8), {})),
      ];
      await waitForStored(8);
      // XACK makes no keyspace event: an entry added now is read once the batch above is done, acknowledgements included.
      await redis.xadd('stream:item.created', '*', ...entryFields(ITEM_CREATED, item(9), {}));
      await waitForStored(9);
      await waitUntil(events, 'event', () => events.count(`xadd ${STREAM_DEAD_LETTERS}`) >= before + 3, {
        ...WAIT,
        what: '3 dead letters',
        describeState: () => events.seen.join('\n  '),
      });
      const letters = (await redis.xrange(STREAM_DEAD_LETTERS, '-', '+')).slice(-3).map(([, fields]) => {
        const record: Record<string, string> = {};
        for (let index = 0; index < fields.length; index += 2) record[fields[index]] = fields[index + 1];
        return record;
      });
      // One batch, handled concurrently: the order of the letters is not the order of the entries.
      expect(letters.map((letter) => letter['kind']).sort()).toEqual(['invalid-payload', 'invalid-payload', 'too-deep']);
      expect(letters.map((letter) => letter['reason'])).toContainEqual(expect.stringContaining('id must be a UUID string, got nothing'));
      const pending = (await redis.xpending('stream:item.created', 'redis-consumer', '-', '+', 100)) as [string, ...unknown[]][];
      expect(pending.map(([id]) => id).filter((id) => ids.includes(id))).toEqual([]);
      expect(await redis.exists('item:undefined')).toBe(0);
    }, 15_000);
  });
});
