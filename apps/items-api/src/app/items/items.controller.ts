import { randomUUID } from 'node:crypto';
import {
  BadRequestException,
  Body,
  Controller,
  GatewayTimeoutException,
  Get,
  Headers,
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
  ApiHeader,
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
import { INVALID_PAYLOAD, RateLimitedLog, RedisRecord } from '@nest-redis-otel/tracing';
import { firstValueFrom, lastValueFrom, timeout, TimeoutError } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config';
import { RequestId } from '../request-id/request-id.middleware';
import { CreateItemDto } from './create-item.dto';
import { IDEMPOTENCY_KEY_HEADER, itemIdFor } from './idempotency-key';
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

  /**
   * Accepts an item and emits `item.created`; redis-consumer stores it. The event carries the moment this request
   * gives up (`PUBLISH_TIMEOUT_MS`): a consumer refuses it later than that, so nothing is stored after a 503.
   */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Accept an item: emits the item.created event over Redis; redis-consumer stores it',
    description:
      'The event carries a deadline, the moment this request answers 503 (PUBLISH_TIMEOUT_MS after it began): ' +
      'redis-consumer refuses it later than that (kept in its dead letters as "expired"). So a 503 means that ' +
      'nothing will be stored after the answer; it may have been stored before it, when Redis took the event but ' +
      'acknowledged it too late. Retry with the same Idempotency-Key: however many attempts were stored, there is ' +
      'one item, under the same id.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'A new UUID per item, the same on its retries: every request with this key gets the same item id (the last one stored wins)',
  })
  @ApiAcceptedResponse({ type: ItemAcceptedResponse })
  @ApiBadRequestResponse({ description: 'The body or the Idempotency-Key is invalid; the message says what is wrong' })
  @ApiServiceUnavailableResponse({
    description:
      'Redis did not take the event within PUBLISH_TIMEOUT_MS: nothing will be stored after this answer (it may ' +
      'have been before it); retry with the same Idempotency-Key',
  })
  async create(
    @Body() body: CreateItemDto,
    @RequestId() requestId: string,
    @Headers(IDEMPOTENCY_KEY_HEADER) idempotencyKey?: string,
  ): Promise<ItemAcceptedResponse> {
    const deadline = new Date(Date.now() + this.config.publishTimeoutMs);
    const event: ItemCreatedEvent = { id: itemIdFor(idempotencyKey, randomUUID), name: body.name, price: body.price ?? null, requestId };
    try {
      await lastValueFrom(this.client.emit(ITEM_CREATED, new RedisRecord(event, { deadline })).pipe(timeout({ first: deadline })), {
        defaultValue: undefined,
      });
    } catch (error) {
      this.failures.write('item.created', `item.created not published: ${describe(error)}`);
      throw new ServiceUnavailableException('Redis did not take the item in time: it will not be stored after this answer; retry with the same Idempotency-Key');
    }
    // Taken so close to the deadline that a consumer whose clock is ahead may judge it late: not a promise to make.
    if (Date.now() > deadline.getTime() - 2 * this.config.clockSkewAllowanceMs) {
      this.failures.write('item.created', 'item.created acknowledged by Redis too close to its deadline: answered 503');
      throw new ServiceUnavailableException('Redis took the item too late to be sure it will be stored; retry with the same Idempotency-Key');
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
