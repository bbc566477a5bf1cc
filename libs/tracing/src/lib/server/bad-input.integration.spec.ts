/*
 * A Redis channel is open to anyone who can PUBLISH: what unit tests of the guard cannot show is that, on a real
 * server, every kind of bad message is refused without reaching a handler, kept with its reason in the dead-letter
 * list, logged once per kind however many arrive, and that the next valid message is still handled.
 */
import { EventEmitter } from 'node:events';
import { Controller, type DynamicModule, type INestMicroservice, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { type RedisTestServer, startRedisTestServer, waitUntil } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import type { DeadLetter } from './dead-letter-list';
import { type TracedServerRedis, tracedRedisServer } from './traced-server-redis';

const CHANNEL = 'bad-input.event';
const DEAD_LETTER_KEY = 'test:dead-letters';
const MAX_MESSAGE_BYTES = 4096;
const MAX_STORED_LENGTH = 256;

const handled: unknown[] = [];
const events = new EventEmitter();

@Controller()
class BadInputController {
  @EventPattern(CHANNEL)
  onEvent(@Payload() data: unknown): void {
    handled.push(data);
    events.emit('handled');
  }
}

@Module({})
class BadInputModule {
  static register(): DynamicModule {
    return { module: BadInputModule, controllers: [BadInputController] };
  }
}

class RecordingLogger implements LoggerService {
  readonly warnings: string[] = [];
  readonly others: string[] = [];
  log(message: unknown): void {
    this.others.push(String(message));
  }
  error(message: unknown): void {
    this.others.push(String(message));
  }
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

/** What arrives on the channel, by kind of refusal; several of some kinds, to show they are logged once. */
const BAD_MESSAGES: [kind: string, raw: string][] = [
  ['not-json', 'this is not json'],
  ['not-json', '{"pattern":"bad-input.event","data":{"id":'],
  ['not-an-object', 'null'],
  ['not-an-object', '[1,2,3]'],
  ['not-an-object', '42'],
  ['unknown-pattern', JSON.stringify({ pattern: 'another.pattern', data: { id: 1 } })],
  ['too-large', JSON.stringify({ pattern: CHANNEL, data: { blob: 'x'.repeat(MAX_MESSAGE_BYTES) } })],
  ['prototype-key', `{"pattern":"${CHANNEL}","data":{"__proto__":{"polluted":true}}}`],
  ['prototype-key', `{"pattern":"${CHANNEL}","data":{"constructor":{"prototype":{"polluted":true}}}}`],
  ['prototype-key', `{"pattern":"${CHANNEL}","data":{"\\u005f_proto__":{"polluted":true}}}`],
  // Thousands of levels fit the size cap; walking them recursively (a logger, JSON.stringify) overflows the stack.
  ['too-deep', `{"pattern":"${CHANNEL}","data":{"id":"1","name":${'['.repeat(1500)}${']'.repeat(1500)}}}`],
  ['too-deep', `{"message":${'{"a":'.repeat(600)}1${'}'.repeat(600)}}`],
];

describe('bad messages on a traced Redis server (real Redis)', () => {
  let redisServer: RedisTestServer;
  let app: INestMicroservice;
  let server: TracedServerRedis;
  let redis: Redis;
  let keyspace: Redis;
  const logger = new RecordingLogger();
  const deadLetterPushed = new EventEmitter();
  let pushes = 0;

  beforeAll(async () => {
    // Keyspace notifications tell when a dead letter lands: this suite needs a Redis it may configure.
    redisServer = await startRedisTestServer({ requirePrivate: true });
    redis = new Redis(redisServer.url);
    await redis.config('SET', 'notify-keyspace-events', 'Kl');
    keyspace = new Redis(redisServer.url);
    await keyspace.subscribe(`__keyspace@0__:${DEAD_LETTER_KEY}`);
    keyspace.on('message', (_channel: string, event: string) => {
      if (event !== 'lpush') return;
      pushes++;
      deadLetterPushed.emit('pushed');
    });

    const microservice = tracedRedisServer({
      url: redisServer.url,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      deadLetters: { key: DEAD_LETTER_KEY, maxEntries: 100, maxStoredLength: MAX_STORED_LENGTH },
    });
    server = microservice.strategy;
    app = await NestFactory.createMicroservice(BadInputModule.register(), { ...microservice, logger });
    await app.listen();
    expect(await server.readiness()).toEqual({ ready: true });
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await Promise.all([redis?.quit(), keyspace?.quit()]);
    await redisServer?.stop();
  });

  it('refuses each into the dead letters with its reason, logs each kind once, and handles the next valid message', async () => {
    for (const [, raw] of BAD_MESSAGES) await redis.publish(CHANNEL, raw);
    await redis.publish(CHANNEL, JSON.stringify({ pattern: CHANNEL, data: { id: 'valid' } }));

    await waitUntil(events, 'handled', () => handled.length > 0, {
      timeoutMs: 10_000,
      what: 'The valid message',
      describeState: () => logger.warnings.join('\n  '),
    });
    await waitUntil(deadLetterPushed, 'pushed', () => pushes >= BAD_MESSAGES.length, {
      timeoutMs: 10_000,
      what: `${BAD_MESSAGES.length} dead letters`,
      describeState: () => `${pushes} pushed`,
    });
    const letters = (await redis.lrange(DEAD_LETTER_KEY, 0, -1)).map((entry) => JSON.parse(entry) as DeadLetter);

    expect(handled).toEqual([{ id: 'valid' }]);
    // LPUSH: newest first.
    expect(letters.map((letter) => letter.kind).reverse()).toEqual(BAD_MESSAGES.map(([kind]) => kind));
    for (const [index, letter] of [...letters].reverse().entries()) {
      const raw = BAD_MESSAGES[index][1];
      expect(letter).toMatchObject({ channel: CHANNEL, bytes: Buffer.byteLength(raw), reason: expect.any(String) });
      expect(letter.raw).toBe(raw.slice(0, MAX_STORED_LENGTH));
      expect(letter.truncated).toBe(raw.length > MAX_STORED_LENGTH);
    }
    expect(Object.fromEntries(server.deadLetters.totals)).toEqual({
      'not-json': 2,
      'not-an-object': 3,
      'unknown-pattern': 1,
      'too-large': 1,
      'prototype-key': 3,
      'too-deep': 2,
    });
    const refusals = logger.warnings.filter((line) => line.startsWith('Refused a message'));
    expect(refusals).toHaveLength(6);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
