import { Controller, Logger } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import {
  checkGetItemRequest,
  checkItemCreatedEvent,
  type GetItemRequest,
  ITEM_CREATED,
  ITEM_GET,
  ITEM_NOT_FOUND,
  type Item,
  type ItemCreatedEvent,
  type ItemNotFoundError,
} from '@nest-redis-otel/item-messages';
import { PayloadContractPipe } from '../messages/payload-contract.pipe';
import { ItemsRepository } from './items.repository';

@Controller()
export class ItemsController {
  private readonly logger = new Logger(ItemsController.name);

  constructor(private readonly items: ItemsRepository) {}

  @EventPattern(ITEM_CREATED)
  async onItemCreated(@Payload(new PayloadContractPipe(ITEM_CREATED, checkItemCreatedEvent)) event: ItemCreatedEvent): Promise<void> {
    await this.items.save(event);
    // trace_id and span_id are added to every line written inside a span (TracedLoggerModule).
    this.logger.log({ msg: `${ITEM_CREATED}: stored item:${event.id}`, item_id: event.id, request_id: event.requestId });
  }

  @MessagePattern(ITEM_GET)
  async getItem(@Payload(new PayloadContractPipe(ITEM_GET, checkGetItemRequest)) request: GetItemRequest): Promise<Item> {
    const item = await this.items.find(request.id);
    if (!item) {
      const error: ItemNotFoundError = { code: ITEM_NOT_FOUND, message: `Item ${request.id} not found` };
      throw new RpcException(error);
    }
    return item;
  }
}
