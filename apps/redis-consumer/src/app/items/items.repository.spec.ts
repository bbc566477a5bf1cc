/*
 * With MESSAGING_TRANSPORT=streams an event is delivered at least once: after a crash between the handler's work
 * and its acknowledgement, item.created runs again for the same item. Storing it must then change nothing.
 */
import { startRedisTestServer, type RedisTestServer } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { ItemsRepository } from './items.repository';

describe('ItemsRepository against a real Redis', () => {
  let server: RedisTestServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedisTestServer();
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('saving the same item.created twice (a redelivery) leaves the same single item', async () => {
    const repository = new ItemsRepository(redis);
    const item = { id: `idempotent-${Date.now()}`, name: 'Blue mug', price: 12.5, requestId: 'r-1' };

    await repository.save(item);
    const once = await redis.hgetall(`item:${item.id}`);
    await repository.save(item);

    expect(await redis.hgetall(`item:${item.id}`)).toEqual(once);
    expect(await repository.find(item.id)).toEqual(item);
    expect(await redis.keys(`item:${item.id}*`)).toEqual([`item:${item.id}`]);
  });
});
