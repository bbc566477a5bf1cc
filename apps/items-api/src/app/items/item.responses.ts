import { ApiProperty } from '@nestjs/swagger';
import type { Item } from '@nest-redis-otel/item-messages';

/** Answer of `POST /api/items`: the item was handed to Redis; redis-consumer stores it. */
export class ItemAcceptedResponse {
  @ApiProperty({ format: 'uuid', description: 'Id of the new item, to read it back with GET /api/items/{id}' })
  id!: string;

  @ApiProperty({ example: 'c0a8012e-7f3c-4d5e-9a1b-2c3d4e5f6a7b', description: 'The request id (x-request-id)' })
  requestId!: string;
}

/** A stored item, as redis-consumer answers `item.get`. */
export class ItemResponse implements Item {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'Blue mug' })
  name!: string;

  @ApiProperty({ type: Number, nullable: true, example: 12.5 })
  price!: number | null;

  @ApiProperty({ description: 'The request id of the POST that created the item' })
  requestId!: string;
}
