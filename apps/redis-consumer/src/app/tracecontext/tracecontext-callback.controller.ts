import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import {
  TRACECONTEXT_CALLBACK,
  type TraceContextCallback,
  type TraceContextCallbackResult,
} from '@nest-redis-otel/item-messages';

const CALLBACK_TIMEOUT_MS = 5000;

/**
 * The far side of the W3C trace-context test service, registered only with TRACECONTEXT_VALIDATION=1: POSTs the
 * arguments to the harness with `node:http`, whose instrumentation injects the context this message carried.
 */
@Controller()
export class TraceContextCallbackController {
  @MessagePattern(TRACECONTEXT_CALLBACK)
  async callBack(@Payload() callback: TraceContextCallback): Promise<TraceContextCallbackResult> {
    try {
      return { url: callback.url, status: await postJson(callback.url, callback.arguments) };
    } catch (error) {
      throw new RpcException({ code: 'CALLBACK_FAILED', message: `POST ${callback.url}: ${(error as Error).message}` });
    }
  }
}

function postJson(url: string, body: unknown): Promise<number> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const payload = JSON.stringify(body ?? null);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: CALLBACK_TIMEOUT_MS,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${CALLBACK_TIMEOUT_MS} ms`)));
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}
