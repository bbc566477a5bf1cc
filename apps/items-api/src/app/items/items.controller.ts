import { randomUUID } from 'node:crypto';
import {
  BadRequestException,
  Body,
  Controller,
  GatewayTimeoutException,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Logger,
  NotFoundException,
  Param,
  Post,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiGatewayTimeoutResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  GetItemRequest,
  ITEM_CREATED,
  ITEM_GET,
  ITEM_NOT_FOUND,
  type Item,
  type ItemCreatedEvent,
} from '@nest-redis-otel/item-messages';
import { INVALID_PAYLOAD, RateLimitedLog } from '@nest-redis-otel/tracing';
import { firstValueFrom, lastValueFrom, timeout, TimeoutError } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config';
import { RequestId } from '../request-id/request-id.middleware';
import { CreateItemDto } from './create-item.dto';
import { ITEMS_CLIENT } from './items.client';
import { ItemAcceptedResponse, ItemResponse } from './item.responses';
import { ParseItemIdPipe } from './parse-item-id.pipe';

@ApiTags('items')
@Controller('items')
export class ItemsController {
  private readonly logger = new Logger(ItemsController.name);
  /** During an outage every request fails the same way: one line per minute and kind, with the count. */
  private readonly failures = new RateLimitedLog((line) => this.logger.warn(line));

  constructor(
    @Inject(ITEMS_CLIENT) private readonly client: ClientProxy,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Accepts an item and emits `item.created`; redis-consumer stores it. */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Accept an item: emits the item.created event over Redis; redis-consumer stores it' })
  @ApiAcceptedResponse({ type: ItemAcceptedResponse })
  @ApiBadRequestResponse({ description: 'The body is invalid; the message lists each field error' })
  @ApiServiceUnavailableResponse({ description: 'Redis did not accept the event in time; nothing was published' })
  async create(@Body() body: CreateItemDto, @RequestId() requestId: string): Promise<ItemAcceptedResponse> {
    const event: ItemCreatedEvent = { id: randomUUID(), name: body.name, price: body.price ?? null, requestId };
    try {
      await lastValueFrom(this.client.emit(ITEM_CREATED, event).pipe(timeout(this.config.publishTimeoutMs)), {
        defaultValue: undefined,
      });
    } catch (error) {
      this.failures.write('item.created', `item.created not published: ${describe(error)}`);
      throw new ServiceUnavailableException('Redis is unavailable: the item was not accepted, retry later');
    }
    return { id: event.id, requestId };
  }

  /** Asks redis-consumer for a stored item (`item.get`, request/response over Redis). */
  @Get(':id')
  @ApiOperation({ summary: 'Read a stored item: item.get request/response over Redis, answered by redis-consumer' })
  @ApiOkResponse({ type: ItemResponse })
  @ApiBadRequestResponse({ description: 'The id is not a UUID' })
  @ApiNotFoundResponse({ description: 'No item with this id' })
  @ApiGatewayTimeoutResponse({ description: 'redis-consumer did not answer within REPLY_TIMEOUT_MS' })
  @ApiServiceUnavailableResponse({ description: 'Redis is unavailable' })
  async findOne(@Param('id', ParseItemIdPipe) id: string): Promise<Item> {
    const request: GetItemRequest = { id };
    try {
      return await firstValueFrom(this.client.send<Item>(ITEM_GET, request).pipe(timeout(this.config.replyTimeoutMs)));
    } catch (error) {
      if (error instanceof TimeoutError) {
        throw new GatewayTimeoutException(`No reply from redis-consumer within ${this.config.replyTimeoutMs} ms`);
      }
      if (isRpcError(error) && error.code === ITEM_NOT_FOUND) throw new NotFoundException(`Item ${id} not found`);
      // redis-consumer checks the request against the contract too; the id was checked here, so this is unlikely.
      if (isRpcError(error) && error.code === INVALID_PAYLOAD) throw new BadRequestException(String(error.message ?? 'Invalid request'));
      this.failures.write('item.get', `item.get failed: ${describe(error)}`);
      throw new ServiceUnavailableException('Redis or redis-consumer is unavailable, retry later');
    }
  }
}

function isRpcError(error: unknown): error is { code: unknown; message?: unknown } {
  return typeof error === 'object' && error !== null && 'code' in error;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
