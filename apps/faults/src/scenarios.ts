import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { findFreePort, OtlpTraceReceiver, serveStack, type ServedApp, type ServedStack } from '@nest-redis-otel/testing';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { type Figure, ms } from './figures';
import { delay, isStored, postItem, publishCount, rssMiB, timedFetch, until } from './probes';

/** Durations of the scenarios: the full run, or a smoke run that only shows the suite works. */
export interface Durations {
  outageSeconds: number;
  steadySeconds: number;
  steadyRate: number;
  deadCollectorSeconds: number;
  /** OTEL_BSP_SCHEDULE_DELAY and OTEL_EXPORTER_OTLP_TIMEOUT against the dead collector (defaults: 5000, 10000). */
  deadCollectorExport: { scheduleDelayMs: number; timeoutMs: number };
}

const ITEM_BODY = JSON.stringify({ name: 'fault suite', price: 1 });

/** `POST /api/items` at a fixed `rate` per second for `seconds`, from `connections` keep-alive connections. */
function postLoad(stack: ServedStack, { connections, rate, seconds }: { connections: number; rate: number; seconds: number }) {
  return autocannon({
    url: `${stack.baseUrl}/items`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: ITEM_BODY,
    connections,
    overallRate: rate,
    duration: seconds,
  });
}

/** Lines an app wrote since `mark`, leaving out the access log (one line per HTTP request, by design). */
const linesSince = (app: ServedApp, mark: number) =>
  app.lines.slice(mark).filter((line) => !/"msg":"request (completed|errored)"/.test(line)).length;

/** POSTs an item and waits until redis-consumer stored it: the whole path works. */
async function roundTrip(stack: ServedStack, redis: Redis, name: string): Promise<boolean> {
  const response = await postItem(stack.baseUrl, name).catch(() => undefined);
  if (response?.status !== 202) return false;
  const { id } = (await response.json()) as { id: string };
  return (await until(() => isStored(redis, id), 2000)) !== undefined;
}

/** Redis stopped for `outageSeconds` and started again at the same address. */
export async function redisOutage({ outageSeconds }: Durations): Promise<Figure[]> {
  const stack = await serveStack({ requirePrivateRedis: true });
  const redis = new Redis(stack.redis.url, { lazyConnect: true, maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // the suite's own connection: Redis is down on purpose, it reconnects
  try {
    await redis.connect();
    if (!(await roundTrip(stack, redis, 'before the outage'))) throw new Error('The stack does not work before the outage');
    const marks = { api: stack.api.lines.length, consumer: stack.consumer.lines.length };
    const posts: { status: number; ms: number }[] = [];
    const gets: { status: number; ms: number }[] = [];
    const health: number[] = [];
    const consumerHealth: number[] = [];
    await stack.redis.restart(async () => {
      const end = performance.now() + outageSeconds * 1000;
      while (performance.now() < end) {
        const [post, get, apiHealth, workerHealth] = await Promise.all([
          timedFetch(`${stack.baseUrl}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ITEM_BODY }),
          timedFetch(`${stack.baseUrl}/items/00000000-0000-4000-8000-000000000000`),
          timedFetch(`${stack.baseUrl}/health`),
          timedFetch(stack.consumerHealthUrl),
        ]);
        posts.push(post);
        gets.push(get);
        health.push(apiHealth.status);
        consumerHealth.push(workerHealth.status);
        await delay(500);
      }
    });
    // Redis is back (accepting connections) now.
    const reconnect = await until(
      async () =>
        (await timedFetch(stack.consumerHealthUrl)).status === 200 &&
        (await timedFetch(`${stack.baseUrl}/health`)).status === 200 &&
        (await roundTrip(stack, redis, 'after the outage')),
      30_000,
    );
    const logLines = Math.max(linesSince(stack.api, marks.api), linesSince(stack.consumer, marks.consumer));
    const postMax = Math.max(...posts.map((p) => p.ms));
    const getMax = Math.max(...gets.map((g) => g.ms));
    const scenario = `Redis down ${outageSeconds} s`;
    return [
      { scenario, name: 'reconnect + resubscribe after Redis returns (both apps, end to end)', value: reconnect === undefined ? 'never (30 s)' : ms(reconnect), goal: '≤ 5000 ms', pass: reconnect !== undefined && reconnect <= 5000 },
      { scenario, name: `POST /api/items while down (${posts.length} probes): status, slowest`, value: `${summarize(posts.map((p) => p.status))}, ${ms(postMax)}`, goal: 'all 503, ≤ 2000 ms', pass: posts.every((p) => p.status === 503) && postMax <= 2000 },
      { scenario, name: 'GET /api/items/:id while down: status, slowest', value: `${summarize(gets.map((g) => g.status))}, ${ms(getMax)}`, goal: '503/504, ≤ 5000 ms (REPLY_TIMEOUT_MS)', pass: gets.every((g) => g.status === 503 || g.status === 504) && getMax <= 5500 },
      { scenario, name: 'health while down: items-api, redis-consumer', value: `${summarize(health)}; ${summarize(consumerHealth)}`, goal: 'all 503', pass: [...health, ...consumerHealth].every((status) => status === 503) },
      { scenario, name: 'log lines written during the outage, access log aside (busiest app)', value: String(logLines), goal: `≤ 20 (no line per retry: ${outageSeconds} retries)`, pass: logLines <= 20 },
    ];
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

/** `rate` POST /api/items per second for `steadySeconds`: every accepted item must be stored. */
export async function steadyRun({ steadySeconds, steadyRate }: Durations): Promise<Figure[]> {
  const stack = await serveStack({ requirePrivateRedis: true, env: { OTEL_BSP_SCHEDULE_DELAY: '1000' } });
  const redis = new Redis(stack.redis.url);
  try {
    await redis.config('RESETSTAT');
    // autocannon spreads the rate over the connections: enough of them that a slow answer does not lower the rate.
    const result = await postLoad(stack, { connections: Math.max(20, steadyRate / 10), rate: steadyRate, seconds: steadySeconds });
    // Every accepted item is published once; requests still in flight when autocannon stopped are published after
    // its end, and the consumer may still be working through the last messages: wait until both counts stop moving.
    const { published: accepted, stored } = await settledCounts(redis);
    const scenario = `steady ${steadyRate} req/s × ${steadySeconds} s`;
    const rate = accepted / steadySeconds;
    return [
      // A throughput, not a reliability goal: reported (the benchmark, npm run bench, measures capacity).
      { scenario, name: 'items accepted per second (target rate)', value: `${rate.toFixed(0)} /s (${steadyRate} /s)`, goal: 'reported: both apps, Redis and the load generator share the cores', pass: true },
      { scenario, name: 'answers other than 202, errors', value: `${result.non2xx}, ${result.errors + result.timeouts} of ${result.requests.total}`, goal: '0, 0', pass: result.non2xx === 0 && result.errors + result.timeouts === 0 && result.requests.total > 0 },
      { scenario, name: 'items published / stored (lost)', value: `${accepted} / ${stored} (${accepted - stored})`, goal: '0 lost', pass: accepted > 0 && accepted === stored },
      { scenario, name: 'HTTP latency p50 / p99', value: `${result.latency.p50} / ${result.latency.p99} ms`, goal: 'reported', pass: true },
    ];
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

/**
 * The same load three times on one stack: with a live collector, with the collector's port black-holed (it accepts
 * TCP connections and never answers, worse than a closed port: each export waits for its timeout), and with the
 * collector back on the same port.
 */
export async function deadCollector({ deadCollectorSeconds, deadCollectorExport }: Durations): Promise<Figure[]> {
  const port = await findFreePort();
  let collector: OtlpTraceReceiver | undefined = await OtlpTraceReceiver.start(port);
  const stack = await serveStack({
    requirePrivateRedis: true,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_BSP_SCHEDULE_DELAY: String(deadCollectorExport.scheduleDelayMs),
      OTEL_EXPORTER_OTLP_TIMEOUT: String(deadCollectorExport.timeoutMs),
    },
  });
  const sockets = new Set<Socket>();
  const blackHole = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  const load = () => postLoad(stack, { connections: 20, rate: 500, seconds: deadCollectorSeconds });
  try {
    const live = await load();
    const rssLive = rssMiB(stack.api.process.pid);

    // Warnings are counted from the collector's going away: the first failed export may come before the black hole.
    const marks = { api: stack.api.lines.length, consumer: stack.consumer.lines.length };
    await collector.stop();
    collector = undefined;
    blackHole.listen(port, '127.0.0.1');
    await once(blackHole, 'listening');
    const dead = await load();
    const rssDead = rssMiB(stack.api.process.pid);
    const warnings = [
      stack.api.lines.slice(marks.api).filter((line) => line.includes('OpenTelemetry')).length,
      stack.consumer.lines.slice(marks.consumer).filter((line) => line.includes('OpenTelemetry')).length,
    ];

    for (const socket of sockets) socket.destroy();
    blackHole.close();
    await once(blackHole, 'close');
    const back = await OtlpTraceReceiver.start(port);
    collector = back;
    const resumedIn = await until(async () => {
      await postItem(stack.baseUrl, 'collector is back');
      return back.spans.some((span) => span.serviceName === 'items-api');
    }, 60_000, 1000);

    const scenario = `collector black-holed ${deadCollectorSeconds} s at 500 req/s`;
    const maxWarnings = Math.ceil(deadCollectorSeconds / 60) + 1;
    return [
      { scenario, name: 'HTTP requests that succeeded', value: `${percent(dead)} of ${dead.requests.total} (live collector: ${percent(live)})`, goal: '100 %', pass: dead['2xx'] === dead.requests.total && dead.requests.total > 0 },
      { scenario, name: 'HTTP latency p50 / p99, dead (live) collector', value: `${dead.latency.p50} / ${dead.latency.p99} ms (${live.latency.p50} / ${live.latency.p99} ms)`, goal: 'p99 ≤ 2 × live + 50 ms', pass: dead.latency.p99 <= 2 * live.latency.p99 + 50 },
      { scenario, name: 'items-api RSS after the load, dead (live) collector', value: `${rssDead.toFixed(0)} MiB (${rssLive.toFixed(0)} MiB)`, goal: '≤ live + 64 MiB (span queue bounded)', pass: rssDead - rssLive <= 64 },
      { scenario, name: 'export warnings logged (items-api, redis-consumer)', value: warnings.join(', '), goal: `1 to ${maxWarnings} each (one per minute)`, pass: warnings.every((count) => count >= 1 && count <= maxWarnings) },
      { scenario, name: 'spans exported again after the collector returned', value: resumedIn === undefined ? 'not within 60 s' : `after ${ms(resumedIn)}`, goal: '≤ 60 s', pass: resumedIn !== undefined },
    ];
  } finally {
    await stack.stop();
    await collector?.stop();
    if (blackHole.listening) blackHole.close();
  }
}

function percent(result: { '2xx': number; requests: { total: number } }): string {
  return `${((result['2xx'] / Math.max(1, result.requests.total)) * 100).toFixed(2)} %`;
}

/** SIGTERM to both apps while requests flow; then a second SIGTERM. */
export async function shutdownUnderLoad(): Promise<Figure[]> {
  const stack = await serveStack({ requirePrivateRedis: true });
  const redis = new Redis(stack.redis.url);
  try {
    await redis.config('RESETSTAT');
    const load = postLoad(stack, { connections: 20, rate: 300, seconds: 6 });
    await delay(2000);
    const apiExit = await signalAndTime(stack.api, 2);
    await load;
    // Everything items-api accepted was published before it exited: the consumer must store all of it.
    const { published: accepted, stored } = await settledCounts(redis);
    const consumerExit = await signalAndTime(stack.consumer, 2);
    const scenario = 'SIGTERM under 300 req/s';
    return [
      { scenario, name: 'items-api: exit code, time to exit (2 signals)', value: `${apiExit.code}, ${ms(apiExit.ms)}`, goal: '0, ≤ 10000 ms', pass: apiExit.code === 0 && apiExit.ms <= 10_000 },
      { scenario, name: 'redis-consumer: exit code, time to exit (2 signals)', value: `${consumerExit.code}, ${ms(consumerExit.ms)}`, goal: '0, ≤ 10000 ms', pass: consumerExit.code === 0 && consumerExit.ms <= 10_000 },
      { scenario, name: 'accepted before the shutdown but not stored', value: `${accepted - stored} of ${accepted}`, goal: '0', pass: accepted > 0 && accepted === stored },
    ];
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

/** PUBLISH commands and stored items, once neither has moved for a second (or after 20 s). */
async function settledCounts(redis: Redis): Promise<{ published: number; stored: number }> {
  let last = { published: -1, stored: -1 };
  await until(async () => {
    const now = { published: await publishCount(redis), stored: await redis.dbsize() };
    const settled = now.published === last.published && now.stored === last.stored;
    last = now;
    return settled;
  }, 20_000, 1000);
  return last;
}

/** Sends SIGTERM `signals` times, 100 ms apart, and times the exit. */
async function signalAndTime(app: ServedApp, signals: number): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  const exited = once(app.process, 'exit') as Promise<[number | null, string | null]>;
  for (let sent = 0; sent < signals && app.process.exitCode === null; sent++) {
    app.process.kill('SIGTERM');
    if (sent + 1 < signals) await Promise.race([exited, delay(100)]);
  }
  const [code] = await exited;
  return { code, ms: performance.now() - started };
}

/** `57×503, 2×504`: how many answers of each status. */
export function summarize(statuses: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${count}×${status || 'no answer'}`).join(' ');
}

