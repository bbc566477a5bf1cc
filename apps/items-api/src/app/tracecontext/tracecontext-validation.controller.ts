import { BadRequestException, Body, Controller, HttpCode, HttpStatus, Inject, Post } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { ApiExcludeController } from '@nestjs/swagger';
import {
  TRACECONTEXT_CALLBACK,
  type TraceContextCallback,
  type TraceContextCallbackResult,
} from '@nest-redis-otel/item-messages';
import { firstValueFrom, timeout } from 'rxjs';
import { ITEMS_CLIENT } from '../items/items.client';

/** Elements of one validation request: the harness sends one or a few. */
const MAX_CALLBACKS = 100;
const CALLBACK_TIMEOUT_MS = 5000;

/**
 * The test service of the W3C trace-context test suite (https://github.com/w3c/trace-context/tree/main/test), off
 * unless TRACECONTEXT_VALIDATION=1: for each `{url, arguments}` of the body, POST `arguments` to `url` propagating
 * the trace context — through the Redis hop: each element is a `tracecontext.callback` request that redis-consumer
 * carries out. Answers once every callback was made (the harness forgets a test when the service answers).
 * It makes the service POST to any URL it is given: never enable it where untrusted callers reach it.
 */
@ApiExcludeController()
@Controller('tracecontext')
export class TraceContextValidationController {
  constructor(@Inject(ITEMS_CLIENT) private readonly client: ClientProxy) {}

  @Post('validate')
  @HttpCode(HttpStatus.OK)
  async validate(@Body() body: unknown): Promise<TraceContextCallbackResult[]> {
    if (!Array.isArray(body)) throw new BadRequestException('The body must be a JSON array of {url, arguments}');
    if (body.length > MAX_CALLBACKS) throw new BadRequestException(`At most ${MAX_CALLBACKS} elements`);
    const callbacks = body.map(toCallback);
    const results: TraceContextCallbackResult[] = [];
    for (const callback of callbacks) {
      results.push(
        await firstValueFrom(this.client.send<TraceContextCallbackResult>(TRACECONTEXT_CALLBACK, callback).pipe(timeout(CALLBACK_TIMEOUT_MS))),
      );
    }
    return results;
  }
}

function toCallback(element: unknown, index: number): TraceContextCallback {
  const record = typeof element === 'object' && element !== null ? (element as Record<string, unknown>) : {};
  const url = record['url'];
  if (typeof url !== 'string' || !/^https?:\/\//.test(url) || !URL.canParse(url)) {
    throw new BadRequestException(`Element ${index}: "url" must be an http(s) URL`);
  }
  return { url, arguments: record['arguments'] };
}
