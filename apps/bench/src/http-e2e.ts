// End to end over HTTP: the built items-api and redis-consumer as separate processes (as `nx serve` starts them),
// `POST /api/items` driven by autocannon, first at a fixed rate, then at saturation. "Handled" counts the items the
// consumer stored in Redis (one hash per item), so untraced and traced runs are counted the same way.
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { type ServedStack, serveStack } from '@nest-redis-otel/testing';

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

/** One round: a fresh stack, `seconds` at `rate` req/s, then `seconds` at saturation. */
export async function measureHttp(sampling: Sampling, rate: number, seconds: number): Promise<HttpSample> {
  const stack = await serveStack({
    requirePrivateRedis: true,
    // The SDK's own export schedule (serveStack shortens it for tests). Logs as in production (one line per request).
    env: { OTEL_BSP_SCHEDULE_DELAY: '5000', ...SAMPLING_ENV[sampling] },
  });
  const redis = new Redis(stack.redis.url);
  try {
    await warmUp(stack);
    stack.receiver.clear();
    const fixedRate: HttpSample['fixedRate'] = await phase(stack, redis, { rate, seconds });
    if (sampling === '100 %') Object.assign(fixedRate, await acceptedToHandler(stack, fixedRate.acceptedPerSecond * seconds));
    stack.receiver.clear();
    const saturation = await phase(stack, redis, { seconds });
    return { fixedRate, saturation };
  } finally {
    redis.disconnect();
    await stack.stop();
  }
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

/** From the exported spans: per trace, SERVER start of items-api → CONSUMER start of redis-consumer. */
async function acceptedToHandler(stack: ServedStack, expected: number): Promise<{ acceptedToHandlerP50Ms: number; acceptedToHandlerP99Ms: number }> {
  const consumerSpans = (spans: typeof stack.receiver.spans) => spans.filter((span) => span.kind === 'CONSUMER' && span.name === 'process item.created');
  // The batch processors export every 5 s: wait for (nearly) all of the phase's traces.
  await stack.receiver.waitFor((spans) => consumerSpans(spans).length >= expected * 0.99, 20_000);
  const servers = new Map(stack.receiver.spans.filter((span) => span.kind === 'SERVER' && span.serviceName === 'items-api').map((span) => [span.traceId, span]));
  const delays = consumerSpans(stack.receiver.spans)
    .map((consumer) => {
      const server = servers.get(consumer.traceId);
      return server && Number(consumer.startTimeUnixNano - server.startTimeUnixNano) / 1e6;
    })
    .filter((delay): delay is number => typeof delay === 'number')
    .sort((a, b) => a - b);
  if (delays.length === 0) throw new Error('no SERVER → CONSUMER pair was exported');
  const at = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))];
  return { acceptedToHandlerP50Ms: at(0.5), acceptedToHandlerP99Ms: at(0.99) };
}
