import type { WaterfallSpan } from './trace-layout';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

/** A span of TRACE starting `startMs` after the trace and lasting `durationMs`. */
export function span(
  spanId: string,
  parentSpanId: string | undefined,
  serviceName: string,
  name: string,
  kind: string,
  startMs: number,
  durationMs: number,
  status?: string,
): WaterfallSpan {
  const base = 1_700_000_000_000_000_000n;
  const start = base + BigInt(Math.round(startMs * 1_000_000));
  return {
    traceId: TRACE,
    spanId,
    parentSpanId,
    serviceName,
    name,
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(Math.round(durationMs * 1_000_000)),
    ...(status && { status: { code: status } }),
  };
}

/** items-api → Redis → redis-consumer, as the demo's POST /api/items produces it (ids are short for reading). */
export const ITEM_CREATED_TRACE: WaterfallSpan[] = [
  span('hset', 'process', 'redis-consumer', 'hset', 'CLIENT', 14, 1),
  span('process', 'send', 'redis-consumer', 'process item.created', 'CONSUMER', 12, 4),
  span('publish', 'send', 'items-api', 'publish', 'CLIENT', 6, 1),
  span('send', 'handler', 'items-api', 'send item.created', 'PRODUCER', 5, 3),
  span('handler', 'server', 'items-api', 'request handler', 'INTERNAL', 2, 8),
  span('server', undefined, 'items-api', 'POST /api/items', 'SERVER', 0, 10),
];
