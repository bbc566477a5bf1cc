/*
 * A caller whose publish timed out was told that its message failed; a Redis that was only stalled (SIGSTOP: the
 * connection stays open, the PUBLISH waits in the socket) still delivers that message when it resumes. What only a
 * real, frozen Redis shows is that the consumer then refuses it, because the caller's deadline travelled with it in
 * the packet's metadata.
 */
import { EventEmitter } from 'node:events';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload, RedisContext } from '@nestjs/microservices';
import { type RedisTestServer, startRedisTestServer } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { lastValueFrom, timeout, TimeoutError } from 'rxjs';
import { redisConnectionOptions } from '../client/redis-connection.options';
import { TracedClientRedis } from '../client/traced-client-redis';
import { RedisRecord } from '../messaging/redis-record';
import type { DeadLetter } from './dead-letter-list';
import { type TracedServerRedis, tracedRedisServer } from './traced-server-redis';

const WAIT_MS = 10_000;
const handled = new EventEmitter();
const seen: { run: string; metadata: unknown }[] = [];

@Controller()
class DeadlineController {
  @EventPattern('deadline.event')
  // Nest 12 types a handler's extra arguments as `unknown`.
  onEvent(@Payload() data: { run: string }, @Ctx() ctx: unknown): void {
    seen.push({ run: data.run, metadata: ctx instanceof RedisContext ? ctx.getMetadata() : undefined });
    handled.emit(data.run);
  }

  @MessagePattern('deadline.request')
  onRequest(@Payload() data: { n: number }): { n: number } {
    return { n: data.n + 1 };
  }
}

@Module({ controllers: [DeadlineController] })
class DeadlineModule {}

function handledRun(run: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${run} not handled within ${WAIT_MS} ms`)), WAIT_MS);
    handled.once(run, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('deadlines of pub/sub messages (real Redis, stalled with SIGSTOP)', () => {
  const deadLetterKey = 'deadline-spec:dead-letters';
  let redis: RedisTestServer;
  let app: INestMicroservice;
  let server: TracedServerRedis;
  let client: TracedClientRedis;
  let plain: Redis;

  beforeAll(async () => {
    redis = await startRedisTestServer({ requirePrivate: true });
    const microservice = tracedRedisServer({ url: redis.url, deadLetters: { key: deadLetterKey }, clockSkewAllowanceMs: 100 });
    server = microservice.strategy;
    app = await NestFactory.createMicroservice(DeadlineModule, { ...microservice, logger: false });
    await app.listen();
    client = new TracedClientRedis(redisConnectionOptions(redis.url));
    await client.connect();
    plain = new Redis(redis.url);
  }, 30_000);

  afterAll(async () => {
    plain?.disconnect();
    await client?.close();
    await app?.close();
    await redis?.stop();
  });

  async function deadLetters(count: number): Promise<DeadLetter[]> {
    // Another connection's bookkeeping: there is no event for it.
    const until = Date.now() + WAIT_MS;
    for (;;) {
      const letters = (await plain.lrange(deadLetterKey, 0, -1)).map((json) => JSON.parse(json) as DeadLetter);
      if (letters.length >= count) return letters;
      if (Date.now() > until) throw new Error(`expected ${count} dead letters, got ${JSON.stringify(letters)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('an event whose caller timed out while Redis was stalled is dead-lettered as expired when Redis resumes, never handled', async () => {
    await redis.stall(async () => {
      const deadline = new Date(Date.now() + 300);
      const publish = lastValueFrom(client.emit('deadline.event', new RedisRecord({ run: 'late' }, { deadline })).pipe(timeout({ first: deadline })), {
        defaultValue: undefined,
      });
      await expect(publish).rejects.toBeInstanceOf(TimeoutError);
    });
    // Messages from one connection arrive in order: once the next one is handled, the late one was judged.
    const next = handledRun('after');
    await lastValueFrom(client.emit('deadline.event', { run: 'after' }), { defaultValue: undefined });
    await next;
    const [letter] = await deadLetters(1);
    expect(letter).toMatchObject({ kind: 'expired', channel: 'deadline.event' });
    expect(letter.reason).toMatch(/ms after its deadline .*its producer had given up/);
    expect(JSON.parse(letter.raw)).toMatchObject({ data: { run: 'late' } });
    expect(seen.map(({ run }) => run)).not.toContain('late');
    expect(server.deadLetters.totals.get('expired')).toBe(1);
  });

  it('in time: the handler gets the data alone, the deadline rides in the metadata next to the trace context', async () => {
    const deadline = new Date(Date.now() + 5000);
    const done = handledRun('in-time');
    await lastValueFrom(client.emit('deadline.event', new RedisRecord({ run: 'in-time' }, { deadline })), { defaultValue: undefined });
    await done;
    expect(seen.find(({ run }) => run === 'in-time')?.metadata).toMatchObject({ deadline: deadline.getTime() });
    await expect(lastValueFrom(client.send('deadline.request', new RedisRecord({ n: 1 }, { deadline })))).resolves.toEqual({ n: 2 });
  });

  it('within the clock-skew allowance of its deadline counts as expired; a deadline that is not a time is malformed', async () => {
    await plain.del(deadLetterKey);
    const packet = (run: string, deadline: unknown) => JSON.stringify({ pattern: 'deadline.event', data: { run }, metadata: { deadline } });
    await plain.publish('deadline.event', packet('skewed', Date.now() + 50)); // the allowance is 100 ms
    await plain.publish('deadline.event', packet('nonsense', 'soon'));
    const next = handledRun('fine');
    await plain.publish('deadline.event', packet('fine', Date.now() + 5000));
    await next;
    const letters = await deadLetters(2);
    expect(letters.map(({ kind, raw }) => [kind, (JSON.parse(raw) as { data: { run: string } }).data.run])).toEqual([
      ['malformed', 'nonsense'],
      ['expired', 'skewed'],
    ]);
    expect(seen.map(({ run }) => run)).not.toContain('skewed');
  });
});
