// Failover under load: Redis Sentinel (a primary, a replica, three sentinels) and Redis Cluster (3 primaries with a
// replica each), with either transport. Items flow at a steady rate; a third of the way in the primary that carries
// the item messages is SIGKILLed and its replica promoted. Every request is recorded (status, time, item id) and every
// accepted item is tracked by id to the consumer's `stored item:<id>` line and to its trace.
import {
  findFreePort,
  type HostPort,
  type LocalRedisCluster,
  type LocalRedisSentinel,
  OtlpTraceReceiver,
  serveBuiltApp,
  type ServedApp,
  startRedisCluster,
  startRedisSentinel,
} from '@nest-redis-otel/testing';
import { type Figure, ms } from './figures';
import { delay, until } from './probes';

export interface FailoverDurations {
  seconds: number;
  rate: number;
}

export type FailoverTopology = 'sentinel' | 'cluster';
export type FailoverTransport = 'pubsub' | 'streams';

/** Partitions of each pattern on the cluster: one per primary. */
const CLUSTER_PARTITIONS = 3;
/** After the load: how long accepted items may take to be stored (a Streams claim included). */
const GRACE_MS = 15_000;
/** The time to publish and consume again that counts as recovered. */
const RECOVERY_GOAL_MS = 30_000;
const STORED = /stored item:([0-9a-f-]{36})/;

/** One POST /api/items: when it was sent and answered (epoch ms), its status (0: no answer) and, if 202, the item. */
interface Sent {
  sentAt: number;
  answeredAt: number;
  status: number;
  id?: string;
  requestId?: string;
}

interface Topology {
  env: Record<string, string>;
  /** Kills the primary that carries the item messages; resolves once the replica is promoted. */
  killPrimary(): Promise<{ killed: HostPort; promoted: HostPort; failoverMs: number }>;
  /** What was killed, for the figures. */
  describe: string;
  stop(): Promise<void>;
}

const addresses = (nodes: readonly HostPort[]) => nodes.map(({ host, port }) => `${host}:${port}`).join(',');

async function startTopology(topology: FailoverTopology, transport: FailoverTransport): Promise<Topology> {
  if (topology === 'sentinel') {
    const sentinel: LocalRedisSentinel = await startRedisSentinel({ replicas: 1, sentinels: 3 });
    return {
      env: { REDIS_SENTINELS: addresses(sentinel.sentinels), REDIS_SENTINEL_NAME: sentinel.masterName },
      killPrimary: () => sentinel.killPrimary(),
      describe: 'the primary',
      stop: () => sentinel.stop(),
    };
  }
  const cluster: LocalRedisCluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
  // Sharded pub/sub: `item.created` is a channel of one slot. Streams: the partitions are spread one per primary
  // (partitionStreams is not exported by the transport), so the primary of `item.created`'s slot carries one of them.
  const partitions: Record<string, string> = transport === 'streams' ? { STREAMS_PARTITIONS: String(CLUSTER_PARTITIONS) } : {};
  return {
    env: { REDIS_CLUSTER_NODES: addresses(cluster.seeds), ...partitions },
    killPrimary: () => cluster.killPrimaryOf('item.created'),
    describe: transport === 'streams' ? `the primary of item.created's slot (1 of ${CLUSTER_PARTITIONS} partitions)` : "the primary of item.created's slot",
    stop: () => cluster.stop(),
  };
}

/** `rate` POST /api/items per second for `seconds`, paced in 10 ms slices, at most 500 in flight: every request. */
async function postRecorded(baseUrl: string, rate: number, seconds: number): Promise<Sent[]> {
  const sent: Sent[] = [];
  let inFlight = 0;
  const post = async () => {
    inFlight++;
    const sentAt = Date.now();
    try {
      const response = await fetch(`${baseUrl}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'failover', price: 1 }),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status === 202) {
        const { id, requestId } = (await response.json()) as { id: string; requestId: string };
        sent.push({ sentAt, answeredAt: Date.now(), status: 202, id, requestId });
      } else {
        await response.arrayBuffer();
        sent.push({ sentAt, answeredAt: Date.now(), status: response.status });
      }
    } catch {
      sent.push({ sentAt, answeredAt: Date.now(), status: 0 });
    } finally {
      inFlight--;
    }
  };
  const started = performance.now();
  const pending: Promise<void>[] = [];
  let count = 0;
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (count < due && inFlight < 500) {
      pending.push(post());
      count++;
    }
    await delay(10);
  }
  await Promise.all(pending);
  return sent;
}

/** Per item id: the times (epoch ms, from the log) the consumer logged it stored. */
function storedTimes(lines: readonly string[]): Map<string, number[]> {
  const stored = new Map<string, number[]>();
  for (const line of lines) {
    const id = STORED.exec(line)?.[1];
    if (!id) continue;
    let time = Number.NaN;
    try {
      time = Number((JSON.parse(line) as { time?: number }).time);
    } catch {
      // not a JSON line: the time stays unknown
    }
    stored.set(id, [...(stored.get(id) ?? []), time]);
  }
  return stored;
}

const alive = (app: ServedApp) => app.process.exitCode === null && app.process.signalCode === null;

/** The warnings and errors an app wrote after line `from` (at most `max`), for the console: evidence of a bug. */
function troubleSince(app: ServedApp, from: number, max = 6): string[] {
  return app.lines
    .slice(from)
    .filter((line) => /"level":(40|50|60)|error|warn/i.test(line))
    .slice(0, max)
    .map((line) => `    ${app.name}: ${line.slice(0, 400)}`);
}

/**
 * One failover scenario: the topology, an OTLP receiver, redis-consumer then items-api; `rate` POSTs per second for
 * `seconds`, the primary killed after a third of them; then up to GRACE_MS for the accepted items to be stored.
 */
export async function failover({ seconds, rate }: FailoverDurations, topology: FailoverTopology, transport: FailoverTransport): Promise<Figure[]> {
  const scenario = `failover: ${topology === 'sentinel' ? 'Sentinel (1 replica, 3 sentinels)' : 'Cluster (3 primaries + 1 replica each)'}, ${transport}${
    transport === 'streams' && topology === 'cluster' ? ` (${CLUSTER_PARTITIONS} partitions)` : ''
  }, ${rate}/s × ${seconds} s`;
  let redis: Topology | undefined;
  let receiver: OtlpTraceReceiver | undefined;
  let consumer: ServedApp | undefined;
  let api: ServedApp | undefined;
  try {
    redis = await startTopology(topology, transport);
    receiver = await OtlpTraceReceiver.start();
    const env: Record<string, string> = {
      REDIS_URL: '', // refused together with the topology's variables
      ...redis.env,
      MESSAGING_TRANSPORT: transport,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '1000',
      ...(transport === 'streams' ? { STREAMS_CLAIM_IDLE_MS: '2000' } : {}),
    };
    const consumerApp = await serveBuiltApp('redis-consumer', { ...env, HEALTH_PORT: String(await findFreePort()) }, 'redis-consumer subscribed');
    consumer = consumerApp;
    const apiPort = await findFreePort();
    const apiApp = await serveBuiltApp('items-api', { ...env, PORT: String(apiPort) }, 'items-api listening');
    api = apiApp;
    const set = redis;

    const load = postRecorded(`http://127.0.0.1:${apiPort}/api`, rate, seconds);
    const linesAtKill = { api: 0, consumer: 0 };
    let killedAt = 0;
    const kill = (async () => {
      await delay((seconds * 1000) / 3);
      linesAtKill.api = apiApp.lines.length;
      linesAtKill.consumer = consumerApp.lines.length;
      const result = await set.killPrimary();
      // The harness finds the primary before it kills it: the kill was failoverMs before the promotion was seen.
      killedAt = Date.now() - result.failoverMs;
      return result;
    })();
    const [sent, killed] = await Promise.all([load, kill]);

    const accepted = sent.filter((request) => request.status === 202);
    const storedAll = () => storedTimes(consumerApp.lines);
    const settledIn = await until(async () => {
      const stored = storedAll();
      return accepted.every((request) => stored.has(request.id as string));
    }, GRACE_MS, 250);
    const stored = storedAll();
    const apiAlive = alive(apiApp);
    const consumerAlive = alive(consumerApp);

    // Recovery: the first POST sent after the kill that was accepted and whose item was stored; until both happened.
    const afterKill = sent.filter((request) => request.sentAt >= killedAt).sort((a, b) => a.sentAt - b.sentAt);
    const first = afterKill.find((request) => request.status === 202 && stored.has(request.id as string));
    const recoveredAt = first ? Math.max(first.answeredAt, ...(stored.get(first.id as string) ?? []).filter(Number.isFinite)) : undefined;
    const recoveryMs = recoveredAt === undefined ? undefined : recoveredAt - killedAt;
    // With partitions only the killed primary's share is refused: the last refusal says when that share came back.
    const lastRefused = afterKill.filter((request) => request.status !== 202).at(-1);
    const between = afterKill.filter((request) => recoveredAt === undefined || request.sentAt < recoveredAt);
    const refused = (requests: Sent[]) => requests.filter((request) => request.status === 503).length;
    const failed = (requests: Sent[]) => requests.filter((request) => request.status !== 202 && request.status !== 503).length;

    const lostItems = accepted.filter((request) => !stored.has(request.id as string));
    const lost = lostItems.length;
    // Asynchronous replication: a write the old primary acknowledged just before it died may not have reached the
    // replica. Only items answered before the kill (plus the answer's way back) can be lost that way.
    const beforeKill = lostItems.filter((request) => request.answeredAt <= killedAt + 50).length;
    const twice = [...stored.values()].filter((times) => times.length > 1).length;

    // The spans of the last items are exported on schedule (OTEL_BSP_SCHEDULE_DELAY) before the apps are stopped:
    // the traces below do not depend on the flush at shutdown, which is checked on its own.
    await delay(2500);
    const trouble = [...troubleSince(apiApp, linesAtKill.api), ...troubleSince(consumerApp, linesAtKill.consumer)];
    const linesAtStop = { api: apiApp.lines.length, consumer: consumerApp.lines.length };
    await Promise.all([apiApp.stop(), consumerApp.stop()]);
    const shutdownOf = (app: ServedApp, from: number) => {
      const errors = app.lines.slice(from).filter((line) => /"level":(50|60)/.test(line));
      const exit = app.process.exitCode ?? app.process.signalCode;
      return { clean: exit === 0 && errors.length === 0, text: `exit ${exit}${errors.length > 0 ? `, ${errors.length} error line(s): ${errorMessage(errors[0])}` : ''}` };
    };
    const apiShutdown = shutdownOf(apiApp, linesAtStop.api);
    const consumerShutdown = shutdownOf(consumerApp, linesAtStop.consumer);
    const traces = oneTraceEach(receiver, apiApp.lines, consumerApp.lines, accepted.filter((request) => stored.has(request.id as string)));

    if (trouble.length > 0) console.log(`  warnings and errors after the kill:\n${trouble.join('\n')}`);
    const recovered = recoveryMs !== undefined && recoveryMs <= RECOVERY_GOAL_MS;
    const figures: Figure[] = [
      { scenario, name: `failover time (harness: ${redis.describe} SIGKILLed until its replica is promoted)`, value: ms(killed.failoverMs), goal: 'reported', pass: true },
      {
        scenario,
        name: 'from the kill until an item is published and consumed again (first 202 after the kill that was stored); both apps alive at the end',
        value: `${recoveryMs === undefined ? 'never' : ms(recoveryMs)} (last refused request sent ${lastRefused ? ms(lastRefused.sentAt - killedAt) : '—'} after the kill); items-api ${apiAlive ? 'alive' : 'DEAD'}, redis-consumer ${consumerAlive ? 'alive' : 'DEAD'}`,
        goal: `≤ ${ms(RECOVERY_GOAL_MS)}; both alive`,
        pass: recovered && apiAlive && consumerAlive,
      },
      {
        scenario,
        name: 'requests refused (503) / failed otherwise, from the kill until recovered (whole run)',
        value: `${refused(between)} / ${failed(between)} (${refused(sent)} / ${failed(sent)} of ${sent.length})`,
        goal: 'reported',
        pass: true,
      },
      transport === 'pubsub'
        ? {
            scenario,
            name: 'items accepted (202) / lost (never stored) / stored twice',
            value: `${accepted.length} / ${lost} / ${twice}`,
            goal: 'measured; pub/sub keeps nothing in flight',
            pass: accepted.length > 0,
          }
        : {
            scenario,
            name: `items accepted (202) / lost (never stored${settledIn === undefined ? ` within ${ms(GRACE_MS)}` : ''}) / stored twice`,
            value: `${accepted.length} / ${lost}${lost > 0 ? ` (${beforeKill} answered before the kill)` : ''} / ${twice}${settledIn === undefined ? '' : `, all stored ${ms(settledIn)} after the load`}`,
            goal: '0 lost, or explained by asynchronous replication; duplicates reported',
            // A write acknowledged by the killed primary but not yet replicated is lost by design (WAIT is not used).
            pass: accepted.length > 0 && lost === beforeKill,
          },
      {
        scenario,
        name: 'SIGTERM after the failover: items-api; redis-consumer',
        value: `${apiShutdown.text}; ${consumerShutdown.text}`,
        goal: 'exit 0, no error logged',
        pass: apiShutdown.clean && consumerShutdown.clean,
      },
      {
        scenario,
        name: 'stored items whose trace is one trace (PRODUCER send item.created → CONSUMER process item.created child)',
        value: `${traces.whole} of ${traces.checked}${traces.whole === traces.checked ? '' : ` (not: ${traces.unknown} no PRODUCER span received; ${traces.otherTrace} stored under another trace; ${traces.noConsumer} same trace, no CONSUMER child received)`}`,
        goal: 'all',
        pass: traces.checked > 0 && traces.whole === traces.checked,
      },
    ];
    return figures;
  } finally {
    await Promise.all([api?.stop(), consumer?.stop()]);
    await receiver?.stop();
    await redis?.stop();
  }
}

/**
 * For each stored item: its request's trace (items-api's `request completed` line with its request_id), the PRODUCER
 * `send item.created` span in that trace, and a CONSUMER `process item.created` span of the same trace whose parent it is.
 */
function oneTraceEach(
  receiver: OtlpTraceReceiver,
  apiLines: readonly string[],
  consumerLines: readonly string[],
  stored: readonly Sent[],
): { whole: number; checked: number; unknown: number; otherTrace: number; noConsumer: number } {
  const traceOfRequest = new Map<string, string>();
  for (const entry of jsonLines(apiLines, '"request completed"')) {
    if (entry['request_id'] && entry['trace_id']) traceOfRequest.set(String(entry['request_id']), String(entry['trace_id']));
  }
  // The trace(s) the consumer logged each item stored under.
  const storedTraces = new Map<string, string[]>();
  for (const entry of jsonLines(consumerLines, 'stored item:')) {
    const id = String(entry['item_id']);
    storedTraces.set(id, [...(storedTraces.get(id) ?? []), String(entry['trace_id'])]);
  }
  const producers = new Map<string, string[]>();
  const consumers = new Map<string, string[]>();
  for (const span of receiver.spans) {
    if (span.kind === 'PRODUCER' && span.name === 'send item.created') producers.set(span.traceId, [...(producers.get(span.traceId) ?? []), span.spanId]);
    if (span.kind === 'CONSUMER' && span.name === 'process item.created') {
      consumers.set(span.traceId, [...(consumers.get(span.traceId) ?? []), span.parentSpanId ?? '']);
    }
  }
  let whole = 0;
  let unknown = 0;
  let otherTrace = 0;
  let noConsumer = 0;
  for (const request of stored) {
    const traceId = traceOfRequest.get(request.requestId as string);
    const producerIds = traceId === undefined ? undefined : producers.get(traceId);
    if (!traceId || !producerIds) {
      unknown++;
      continue;
    }
    const parents = consumers.get(traceId) ?? [];
    if (producerIds.some((spanId) => parents.includes(spanId))) whole++;
    else if ((storedTraces.get(request.id as string) ?? []).some((logged) => logged !== traceId)) otherTrace++;
    else noConsumer++;
  }
  return { whole, checked: stored.length, unknown, otherTrace, noConsumer };
}

/** An error log line's message and the top of its stack, short. */
function errorMessage(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: string; err?: { message?: string; stack?: string } };
    const stack = entry.err?.stack?.split('\n').slice(0, 2).map((part) => part.trim()).join(' ') ?? '';
    return [...new Set([entry.msg, entry.err?.message, stack].filter(Boolean))].join(' — ').slice(0, 300).replace(/\|/g, '\\|');
  } catch {
    return line.slice(0, 200).replace(/\|/g, '\\|');
  }
}

/** The JSON log lines among `lines` that contain `marker`, parsed. */
function jsonLines(lines: readonly string[], marker: string): Record<string, unknown>[] {
  const entries: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (!line.includes(marker)) continue;
    try {
      entries.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a JSON line
    }
  }
  return entries;
}
