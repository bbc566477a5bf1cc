// End to end over HTTP: the built items-api and redis-consumer as separate processes (as `nx serve` starts them),
// `POST /api/items` driven by autocannon, first at a fixed rate, then at saturation. "Handled" counts the items the
// consumer stored in Redis (one hash per item), so untraced and traced runs are counted the same way.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { type ServedStack, serveStack } from '@nest-redis-otel/testing';
import { type CountingReceiver, OTLP_GRPC_TRACES, pathDelta, type ReceiverStats, receiverCpuDelta, type SpanRecord } from './counting-receiver.client';

/**
 * off: OTEL_SDK_DISABLED; 100 % / 0 %: the apps' SDK; worker: 100 % with OTEL_SPAN_EXPORT_THREAD=worker; observe,
 * observe all: the SDK disabled and @nestjs/observe started instead (observe-preload.cjs), defaults or shipping all.
 */
export type Sampling = 'off' | '100 %' | '0 %' | 'worker' | 'observe' | 'observe all';

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
  /** CPU per handled request, µs, from the phase's start to its last item stored: each app (/proc), receiver, Redis. */
  cpuApiUs: number;
  cpuConsumerUs: number;
  cpuReceiverUs: number;
  cpuRedisUs: number;
  /** What the counting receiver got over the phase (and one export period after), per 1,000 handled requests. */
  shipped: { requests: number; kib: number; items?: number };
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

const OBSERVE_PRELOAD = join(__dirname, 'observe-preload.cjs');
const SAMPLING_ENV: Record<Sampling, Record<string, string>> = {
  off: { OTEL_SDK_DISABLED: 'true' },
  // Explicit, so that the rows mean the same whatever the SDK's default export thread is.
  '100 %': { OTEL_SPAN_EXPORT_THREAD: 'main' },
  '0 %': { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0', OTEL_SPAN_EXPORT_THREAD: 'main' },
  worker: { OTEL_SPAN_EXPORT_THREAD: 'worker' },
  observe: { OTEL_SDK_DISABLED: 'true', BENCH_OBSERVE: 'defaults', NODE_OPTIONS: `--require ${OBSERVE_PRELOAD}` },
  'observe all': { OTEL_SDK_DISABLED: 'true', BENCH_OBSERVE: 'all', NODE_OPTIONS: `--require ${OBSERVE_PRELOAD}` },
};
const observing = (sampling: Sampling) => sampling === 'observe' || sampling === 'observe all';
/** Spans of the fixed-rate phase, traced rounds. */
const tracedFully = (sampling: Sampling) => sampling === '100 %' || sampling === 'worker';
/** How long after a phase its telemetry has surely been shipped: the SDK's batch delay, or Observe's flush interval. */
const shipDelayMs = (sampling: Sampling, exportDelayMs: number) =>
  sampling === 'observe' ? 5700 : sampling === 'observe all' ? 1700 : exportDelayMs + 700;

/**
 * One round: a fresh stack, `seconds` at `rate` req/s, then `seconds` at saturation. `exportDelayMs`: the batch span
 * processors' schedule (the SDK's default, 5 s, in a measurement; shorter in a smoke run, which waits for it).
 */
export async function measureHttp(
  sampling: Sampling,
  rate: number,
  seconds: number,
  receiver: CountingReceiver,
  exportDelayMs = 5000,
): Promise<HttpSample> {
  const stack = await serveStack({
    requirePrivateRedis: true,
    // Logs as in production (one line per request). The apps export to the counting receiver (a process of its
    // own); the stack's decoding receiver gets nothing.
    env: {
      OTEL_BSP_SCHEDULE_DELAY: String(exportDelayMs),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.grpcEndpoint,
      OBSERVE_ENDPOINT: receiver.httpUrl,
      ...SAMPLING_ENV[sampling],
    },
  });
  const redis = new Redis(stack.redis.url);
  const roundStart = await receiver.stats();
  const shipWait = shipDelayMs(sampling, exportDelayMs);
  let sample: HttpSample;
  try {
    await warmUp(stack);
    // The warm-up's telemetry is shipped before the phases are counted.
    await new Promise((resolve) => setTimeout(resolve, shipWait));
    const fixedRateStartedNs = BigInt(Date.now()) * 1_000_000n;
    // Only here does the receiver decode every request: the fixed-rate phase's spans give "accepted → handler".
    if (tracedFully(sampling)) await receiver.setDecodeAll(true);
    const fixedRate: HttpSample['fixedRate'] = await phase(stack, redis, receiver, shipWait, { rate, seconds });
    if (tracedFully(sampling)) {
      Object.assign(fixedRate, await acceptedToHandler(receiver, fixedRateStartedNs, fixedRate.accepted, exportDelayMs));
      await receiver.setDecodeAll(false);
      await receiver.clearSpans();
    }
    const saturation = await phase(stack, redis, receiver, shipWait, { seconds });
    sample = { fixedRate, saturation };
  } finally {
    redis.disconnect();
    await receiver.setDecodeAll(false);
    await receiver.clearSpans();
    // The apps flush their spans as they stop (SIGTERM).
    await stack.stop();
  }
  // An unsampled or untraced round must export no span at all.
  const exportRequests = pathDelta(roundStart, await receiver.stats())[OTLP_GRPC_TRACES]?.requests ?? 0;
  if (!tracedFully(sampling) && exportRequests > 0) {
    throw new Error(`${exportRequests} OTLP exports with tracing ${sampling}: the apps did not apply ${JSON.stringify(SAMPLING_ENV[sampling])}`);
  }
  if (observing(sampling) && sample.saturation.shipped.requests === 0) throw new Error(`@nestjs/observe (${sampling}) shipped nothing`);
  return sample;
}

/** µs of CPU a process used so far (utime + stime from /proc/<pid>/stat). */
function processCpuUs(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on: utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6;
}
const CLOCK_TICKS = 100;

async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

interface CpuReading {
  api: number;
  consumer: number;
  redis: number;
  receiver: ReceiverStats;
}
async function readCpu(stack: ServedStack, redis: Redis, receiver: CountingReceiver): Promise<CpuReading> {
  return {
    api: processCpuUs(stack.api.process.pid),
    consumer: processCpuUs(stack.consumer.process.pid),
    redis: await redisCpuUs(redis),
    receiver: await receiver.stats(),
  };
}

async function warmUp(stack: ServedStack): Promise<void> {
  await autocannon({ url: `${stack.baseUrl}/items`, method: 'POST', headers: { 'content-type': 'application/json' }, body: ITEM_BODY, connections: 10, amount: 500 });
}

async function phase(
  stack: ServedStack,
  redis: Redis,
  receiver: CountingReceiver,
  shipWaitMs: number,
  { rate, seconds }: { rate?: number; seconds: number },
): Promise<HttpPhase> {
  const storedBefore = await redis.dbsize();
  const cpuBefore = await readCpu(stack, redis, receiver);
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
  const cpuAfter = await readCpu(stack, redis, receiver);
  const handled = (await redis.dbsize()) - storedBefore;
  // What was shipped for the phase: until one export period after it.
  await new Promise((resolve) => setTimeout(resolve, shipWaitMs));
  const shippedPaths = Object.values(pathDelta(cpuBefore.receiver, await receiver.stats()));
  const per1000 = (value: number) => (value / Math.max(1, handled)) * 1000;
  const sum = (get: (count: (typeof shippedPaths)[number]) => number) => shippedPaths.reduce((total, count) => total + get(count), 0);
  const sampled = sum((count) => count.sampled);
  const perRequest = (get: (count: (typeof shippedPaths)[number]) => number) => (count: (typeof shippedPaths)[number]) => (count.sampled > 0 ? (get(count) / count.sampled) * count.requests : 0);
  return {
    acceptedPerSecond: (accepted / loadMs) * 1000,
    handledPerSecond: (handled / handledAtMs) * 1000,
    cpuApiUs: (cpuAfter.api - cpuBefore.api) / Math.max(1, handled),
    cpuConsumerUs: (cpuAfter.consumer - cpuBefore.consumer) / Math.max(1, handled),
    cpuReceiverUs: receiverCpuDelta(cpuBefore.receiver, cpuAfter.receiver) / Math.max(1, handled),
    cpuRedisUs: (cpuAfter.redis - cpuBefore.redis) / Math.max(1, handled),
    shipped: {
      requests: per1000(sum((count) => count.requests)),
      kib: per1000(sum((count) => count.bytes)) / 1024,
      ...(sampled > 0 && { items: per1000(sum(perRequest((count) => count.sampledItems))) }),
    },
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
 * From the spans the receiver decoded (decode-all mode): per trace whose SERVER span (items-api) started at or after
 * `sinceNs`, SERVER start → CONSUMER start (redis-consumer). Spans of an earlier phase exported late are left out.
 */
async function acceptedToHandler(
  receiver: CountingReceiver,
  sinceNs: bigint,
  accepted: number,
  exportDelayMs: number,
): Promise<{ acceptedToHandlerP50Ms: number; acceptedToHandlerP99Ms: number }> {
  const SERVER = 2;
  const CONSUMER = 5;
  const delaysOf = (spans: SpanRecord[]) => {
    const servers = new Map<string, bigint>();
    for (const span of spans) {
      if (span.kind === SERVER && span.service === 'items-api' && BigInt(span.startNs) >= sinceNs) servers.set(span.traceId, BigInt(span.startNs));
    }
    const delays: number[] = [];
    for (const span of spans) {
      const serverStart = span.kind === CONSUMER && span.name === 'process item.created' ? servers.get(span.traceId) : undefined;
      if (serverStart !== undefined) delays.push(Number(BigInt(span.startNs) - serverStart) / 1e6);
    }
    return delays;
  };
  // Each app exports a batch every `exportDelayMs` (sooner when 512 spans are queued): two rounds of that, and some.
  const timeoutMs = 2 * exportDelayMs + 10_000;
  const deadline = performance.now() + timeoutMs;
  let delays = delaysOf(await receiver.spans());
  while (delays.length < accepted && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    delays = delaysOf(await receiver.spans());
  }
  // A full batch queue drops spans (OTEL_BSP_MAX_QUEUE_SIZE): a few may be missing, not the tail of the phase.
  if (delays.length === 0 || delays.length < accepted * 0.99) {
    throw new Error(`${delays.length} of ${accepted} accepted requests have a SERVER and a CONSUMER span after ${timeoutMs} ms`);
  }
  delays.sort((a, b) => a - b);
  const at = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))];
  return { acceptedToHandlerP50Ms: at(0.5), acceptedToHandlerP99Ms: at(0.99) };
}
