import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Item } from '@nest-redis-otel/item-messages';
import type { Redis } from 'ioredis';

export const ITEMS_REDIS = Symbol('ITEMS_REDIS');

/** Items as Redis hashes `item:<id>`. */
@Injectable()
export class ItemsRepository implements OnApplicationShutdown {
  constructor(@Inject(ITEMS_REDIS) private readonly redis: Redis) {}

  async save(item: Item): Promise<void> {
    await this.redis.hset(this.key(item.id), {
      id: item.id,
      name: item.name,
      price: item.price === null ? '' : String(item.price),
      requestId: item.requestId,
    });
  }

  async find(id: string): Promise<Item | undefined> {
    const fields = await this.redis.hgetall(this.key(id));
    if (!fields['id']) return undefined;
    return {
      id: fields['id'],
      name: fields['name'] ?? '',
      price: fields['price'] ? Number(fields['price']) : null,
      requestId: fields['requestId'] ?? '',
    };
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }

  private key(id: string): string {
    return `item:${id}`;
  }
}
