/*
 * A SIGTERM arrives while handlers run. Closing must stop intake first, let the running handlers finish (a request's
 * reply included), and only then close the connections; a second close must be the same close.
 */
import { EventEmitter, once } from 'node:events';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { type RedisTestServer, startRedisTestServer } from '@nest-redis-otel/testing';
import { lastValueFrom } from 'rxjs';
import { redisConnectionOptions } from '../client/redis-connection.options';
import { TracedClientRedis } from '../client/traced-client-redis';
import { type TracedServerRedis, tracedRedisServer } from './traced-server-redis';

const started = new EventEmitter();
let release: () => void = () => undefined;
const gate = () => new Promise<void>((resolve) => (release = resolve));
const finished: string[] = [];

@Controller()
class SlowController {
  @MessagePattern('slow.request')
  async onRequest(@Payload() data: { n: number }): Promise<{ n: number }> {
    const opened = gate();
    started.emit('started');
    await opened;
    finished.push('slow.request');
    return { n: data.n + 1 };
  }

  @EventPattern('late.event')
  onLateEvent(@Payload() _event: unknown): void {
    finished.push('late.event');
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

describe('closing a traced Redis server with a handler running (real Redis)', () => {
  let redis: RedisTestServer;
  let app: INestMicroservice;
  let server: TracedServerRedis;
  let client: TracedClientRedis;

  beforeAll(async () => {
    redis = await startRedisTestServer();
    const microservice = tracedRedisServer({ url: redis.url });
    server = microservice.strategy;
    app = await NestFactory.createMicroservice(SlowModule, { ...microservice, logger: false });
    await app.listen();
    expect(await server.readiness()).toEqual({ ready: true });
    client = new TracedClientRedis(redisConnectionOptions(redis.url));
    await client.connect();
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await redis?.stop();
  });

  it('stops intake, lets the running handler reply, then closes; a second close is the same one', async () => {
    const reply = lastValueFrom(client.send<{ n: number }>('slow.request', { n: 41 }));
    await once(started, 'started');

    const closing = server.close();
    expect(server.close()).toBe(closing);
    // Intake stops first: once the server no longer answers as subscribed, an event sent now reaches no handler.
    await waitUntilUnsubscribed(server);
    await lastValueFrom(client.emit('late.event', {}), { defaultValue: undefined });

    release();
    await expect(reply).resolves.toEqual({ n: 42 });
    await closing;
    expect(finished).toEqual(['slow.request']);
    await app.close();
  });
});

/** Resolves once the server's subscriber has left every channel: PUBSUB NUMSUB of its channel is 0. */
async function waitUntilUnsubscribed(server: TracedServerRedis): Promise<void> {
  const [publisher] = server.unwrap<[{ call(...args: string[]): Promise<[string, number]> }, unknown]>();
  for (let attempt = 0; attempt < 100; attempt++) {
    const [, subscribers] = await publisher.call('PUBSUB', 'NUMSUB', 'late.event');
    if (subscribers === 0) return;
  }
  throw new Error('The server is still subscribed');
}
