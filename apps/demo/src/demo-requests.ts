import { randomUUID } from 'node:crypto';
import type { OtlpTraceReceiver, ReceivedSpan } from '@nest-redis-otel/testing';

/** One HTTP request of the demo and the trace it started. */
export interface DemoRequest {
  title: string;
  status: number;
  body: unknown;
  traceId: string;
  spans: ReceivedSpan[];
}

const REQUEST_ID_ATTRIBUTES = ['http.response.header.x-request-id', 'http.response.header.x_request_id'];

/**
 * The tour: create an item (event), read it back (request/response), read an unknown one (error reply), and the
 * tutorial's raw-channel publish. Each request gets its own `x-request-id`; the SERVER span records it, which is
 * how its trace is found among the received spans.
 */
export async function runDemoRequests(baseUrl: string, receiver: OtlpTraceReceiver): Promise<DemoRequest[]> {
  const results: DemoRequest[] = [];
  const created = await request(baseUrl, receiver, 'POST', '/items', { name: 'Blue mug', price: 12.5 });
  results.push(created);
  const id = (created.body as { id?: string }).id;
  if (created.status !== 202 || !id) throw new Error(`POST /api/items answered ${created.status}: ${JSON.stringify(created.body)}`);
  // The trace is complete once the consumer's span ended, so the item is stored by now.
  results.push(await request(baseUrl, receiver, 'GET', `/items/${id}`));
  results.push(await request(baseUrl, receiver, 'GET', `/items/${randomUUID()}`));
  results.push(await request(baseUrl, receiver, 'GET', '/pub'));
  return results;
}

async function request(
  baseUrl: string,
  receiver: OtlpTraceReceiver,
  method: 'GET' | 'POST',
  path: string,
  json?: unknown,
): Promise<DemoRequest> {
  const requestId = `demo-${randomUUID()}`;
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'x-request-id': requestId, ...(json !== undefined && { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const body: unknown = await response.json().catch(() => undefined);
  const spans = await receiver.waitFor((all) => completeTrace(all, requestId), 15_000);
  return { title: `${method} /api${path} → ${response.status}`, status: response.status, body, traceId: spans[0].traceId, spans };
}

/**
 * The spans of the trace whose SERVER span answered `requestId`, once it is whole: the root is in, the consumer's
 * span is in, and every span's parent is in (children end, and are exported, before their parents).
 */
export function completeTrace(all: readonly ReceivedSpan[], requestId: string): ReceivedSpan[] | undefined {
  const server = all.find(
    (span) =>
      span.kind === 'SERVER' &&
      REQUEST_ID_ATTRIBUTES.some((key) => {
        const value = span.attributes[key];
        return value === requestId || (Array.isArray(value) && value.includes(requestId));
      }),
  );
  if (!server) return undefined;
  const spans = all.filter((span) => span.traceId === server.traceId);
  const ids = new Set(spans.map((span) => span.spanId));
  const hasConsumer = spans.some((span) => span.kind === 'CONSUMER');
  const hasRoot = spans.some((span) => !span.parentSpanId);
  const whole = spans.every((span) => !span.parentSpanId || ids.has(span.parentSpanId));
  return hasConsumer && hasRoot && whole ? spans : undefined;
}
