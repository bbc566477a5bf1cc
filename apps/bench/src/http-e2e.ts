// End to end over HTTP: the built items-api and redis-consumer as separate processes (as `nx serve` starts them),
// `POST /api/items` driven by autocannon, first at a fixed rate, then at saturation. "Handled" counts the items the
// consumer stored in Redis (one hash per item), so untraced and traced runs are counted the same way.
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { type ReceivedSpan, type ServedStack, serveStack } from '@nest-redis-otel/testing';

export type Sampling = 'off' | '100 %' | '0 %';

export interface HttpPhase {
  /** 2xx responses per second over the phase. */
  acceptedPerSecond: number;
  /** Items stored by the consumer per second, from the start of the phase to the last one stored. */
  handledPerSecond: number;
  httpP50Ms: number;
  httpP99Ms: number;
  /** Requests answered with something else than 202, or not at all. */
  failed: number;
  /** 202 responses over the phase. */
  accepted: number;
}

export interface HttpSample {
  fixedRate: HttpPhase & {
    /** SERVER span start (request accepted) → CONSUMER span start (handler), p99 over the phase; traced runs only. */
    acceptedToHandlerP99Ms?: number;
    acceptedToHandlerP50Ms?: number;
  };
  saturation: HttpPhase;
}

const ITEM_BODY = JSON.stringify({ name: 'Blue mug', price: 12.5 });

const SAMPLING_ENV: Record<Sampling, Record<string, string>> = {
  off: { OTEL_SDK_DISABLED: 'true' },
  '100 %': {},
  '0 %': { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
};

/**
 * One round: a fresh stack, `seconds` at `rate` req/s, then `seconds` at saturation. `exportDelayMs`: the batch span
 * processors' schedule (the SDK's default, 5 s, in a measurement; shorter in a smoke run, which waits for it).
 */
export async function measureHttp(sampling: Sampling, rate: number, seconds: number, exportDelayMs = 5000): Promise<HttpSample> {
  const stack = await serveStack({
    requirePrivateRedis: true,
    // Logs as in production (one line per request).
    env: { OTEL_BSP_SCHEDULE_DELAY: String(exportDelayMs), ...SAMPLING_ENV[sampling] },
  });
  const redis = new Redis(stack.redis.url);
  // Every span received over the round, cleared or not: an unsampled or untraced round must export none.
  let exportedSpans = 0;
  const clearSpans = () => {
    exportedSpans += stack.receiver.spans.length;
    stack.receiver.clear();
  };
  let sample: HttpSample;
  try {
    await warmUp(stack);
    clearSpans();
    const fixedRateStartedNs = BigInt(Date.now()) * 1_000_000n;
    const fixedRate: HttpSample['fixedRate'] = await phase(stack, redis, { rate, seconds });
    if (sampling === '100 %') Object.assign(fixedRate, await acceptedToHandler(stack, fixedRateStartedNs, fixedRate.accepted, exportDelayMs));
    clearSpans();
    const saturation = await phase(stack, redis, { seconds });
    sample = { fixedRate, saturation };
  } finally {
    redis.disconnect();
    // The apps flush their spans as they stop (SIGTERM), before the receiver does.
    await stack.stop();
  }
  clearSpans();
  if (sampling !== '100 %' && exportedSpans > 0) {
    throw new Error(`${exportedSpans} spans were exported with tracing ${sampling}: the apps did not apply ${JSON.stringify(SAMPLING_ENV[sampling])}`);
  }
  return sample;
}

async function warmUp(stack: ServedStack): Promise<void> {
  await autocannon({ url: `${stack.baseUrl}/items`, method: 'POST', headers: { 'content-type': 'application/json' }, body: ITEM_BODY, connections: 10, amount: 500 });
}

async function phase(stack: ServedStack, redis: Redis, { rate, seconds }: { rate?: number; seconds: number }): Promise<HttpPhase> {
  const storedBefore = await redis.dbsize();
  const started = performance.now();
  const result = await autocannon({
    url: `${stack.baseUrl}/items`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: ITEM_BODY,
    // Enough connections for the fixed rate to be held; at saturation, what the apps can take.
    connections: rate === undefined ? 32 : 20,
    ...(rate !== undefined && { overallRate: rate }),
    duration: seconds,
  });
  const loadMs = performance.now() - started;
  const accepted = result.statusCodeStats?.['202']?.count ?? 0;
  // The consumer may still be working through what was accepted: the phase ends when it stored all of it.
  const handledAtMs = await timeWhenStored(redis, storedBefore + accepted, started);
  return {
    acceptedPerSecond: (accepted / loadMs) * 1000,
    handledPerSecond: (((await redis.dbsize()) - storedBefore) / handledAtMs) * 1000,
    httpP50Ms: result.latency.p50,
    httpP99Ms: result.latency.p99,
    failed: result.requests.total - accepted,
    accepted,
  };
}

/** Milliseconds from `since` until Redis holds `keys` keys; another process stores them, so it is polled. */
async function timeWhenStored(redis: Redis, keys: number, since: number, timeoutMs = 60_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while ((await redis.dbsize()) < keys) {
    if (performance.now() > deadline) throw new Error(`the consumer stored fewer than ${keys} keys within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - since;
}

/**
 * From the exported spans: per trace whose SERVER span (items-api) started at or after `sinceNs`, SERVER start →
 * CONSUMER start (redis-consumer). Spans of an earlier phase that the batch processors export late are left out.
 */
async function acceptedToHandler(
  stack: ServedStack,
  sinceNs: bigint,
  accepted: number,
  exportDelayMs: number,
): Promise<{ acceptedToHandlerP50Ms: number; acceptedToHandlerP99Ms: number }> {
  const delaysOf = (spans: ReceivedSpan[]) => {
    const servers = new Map<string, bigint>();
    for (const span of spans) {
      if (span.kind === 'SERVER' && span.serviceName === 'items-api' && span.startTimeUnixNano >= sinceNs) servers.set(span.traceId, span.startTimeUnixNano);
    }
    const delays: number[] = [];
    for (const span of spans) {
      const serverStart = span.kind === 'CONSUMER' && span.name === 'process item.created' ? servers.get(span.traceId) : undefined;
      if (serverStart !== undefined) delays.push(Number(span.startTimeUnixNano - serverStart) / 1e6);
    }
    return delays;
  };
  // Each app exports a batch every `exportDelayMs` (sooner when 512 spans are queued): two rounds of that, and some.
  const timeoutMs = 2 * exportDelayMs + 10_000;
  const delays = await stack.receiver
    .waitFor((spans) => {
      const found = delaysOf(spans);
      return found.length >= accepted && found;
    }, timeoutMs)
    .catch(() => delaysOf(stack.receiver.spans));
  // A full batch queue drops spans (OTEL_BSP_MAX_QUEUE_SIZE): a few may be missing, not the tail of the phase.
  if (delays.length === 0 || delays.length < accepted * 0.99) {
    throw new Error(`${delays.length} of ${accepted} accepted requests have a SERVER and a CONSUMER span after ${timeoutMs} ms`);
  }
  delays.sort((a, b) => a - b);
  const at = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))];
  return { acceptedToHandlerP50Ms: at(0.5), acceptedToHandlerP99Ms: at(0.99) };
}
