import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { BaseRpcContext, type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { context as otelContext } from '@opentelemetry/api';
import {
  createRedisConnection,
  DEADLINE_KEY,
  DEFAULT_REDIS_URL,
  DEFAULT_CLOCK_SKEW_ALLOWANCE_MS,
  DEFAULT_MAX_MESSAGE_DEPTH,
  type InvalidPayloadError,
  type MessagingTracingOptions,
  RateLimitedLog,
  type RedisClusterTopology,
  type RedisSentinelTopology,
  type RedisTopology,
  withTimeout,
} from '@nest-redis-otel/tracing';
import {
  checkDeadline,
  DeadLetters,
  describeError,
  invalidPayloadOf,
  MessageSpans,
  DEFAULT_DRAIN_TIMEOUT_MS,
  type Readiness,
  type ReadinessCheck,
  type RejectionKind,
  redisNodeAttributes,
  RunningHandlers,
  splitTopology,
  startConsumerSpan,
} from '@nest-redis-otel/tracing/internal';
import type { Redis } from 'ioredis';
import { isObservable, lastValueFrom } from 'rxjs';
import {
  ATTR_DELIVERY_COUNT,
  DEFAULT_BATCH_SIZE,
  DEFAULT_BLOCK_MS,
  DEFAULT_CLAIM_IDLE_MS,
  DEFAULT_CONCURRENCY,
  DEFAULT_DEAD_LETTER_STREAM,
  DEFAULT_GROUP,
  DEFAULT_MAX_DELIVERIES,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_STREAM_PREFIX,
  REPLY_LIST_TTL_MS,
  replyTicketKey,
} from '../constants';
import { checkPartitions, partitionStreams, slotOf } from '../partitions';
import { readEntry, type StreamMessage } from '../stream-entry';
import { DeadLetterStream, type StreamEntry } from './dead-letter-stream';

export interface ServerRedisStreamsOptions {
  /** `redis://[user:password@]host[:port][/db]` (default redis://localhost:6379); or `sentinel`, or `cluster`. */
  url?: string;
  /** A primary managed by Redis Sentinel, instead of `url`. */
  sentinel?: RedisSentinelTopology;
  /** A Redis Cluster, instead of `url`: each hash slot holding streams is read on its own (see `partitions`). */
  cluster?: RedisClusterTopology;
  streamPrefix?: string;
  /**
   * Streams per pattern (set the same on the clients). 1 (default): `stream:<pattern>`. More: `stream:<pattern>:{p<k>}`,
   * spread evenly over a cluster's hash slots, each read with its own XREADGROUP: a stream lives on one shard, so
   * this is how one pattern's entries spread over a cluster's primaries. Ordering holds within a partition only.
   */
  partitions?: number;
  /** The consumer group: replicas in one group share the work, each entry goes to one of them. */
  group?: string;
  /**
   * This replica's name in the group. Keep it stable across restarts (a pod name, not a pid): on start, a consumer
   * first handles the entries it had read but not acknowledged. Default: the host name.
   */
  consumer?: string;
  /** At most this many entries per read (fewer when fewer handler slots are free). */
  batchSize?: number;
  /**
   * Handlers running at once. Entries are read as slots free up, so a slow handler holds its slot only, not the
   * replica. Default 16.
   */
  concurrency?: number;
  blockMs?: number;
  /** Entries pending longer than this on any consumer are claimed (XAUTOCLAIM). */
  claimIdleMs?: number;
  /** After this many deliveries an entry goes to the dead letters, unhandled. */
  maxDeliveries?: number;
  deadLetterStream?: string;
  /** Larger entries are refused into the dead letters. */
  maxEntryBytes?: number;
  /** Entries whose data nests objects and arrays deeper than this (the entry is level 1) are refused unparsed. */
  maxEntryDepth?: number;
  /** On close, how long running handlers may take to finish. */
  drainTimeoutMs?: number;
  /**
   * An entry with a `deadline` field (a `RedisRecord`'s) that Redis added less than this before the deadline is
   * refused as `expired`: the bound on how far Redis's clock and the producer's may be apart. Default 100 ms.
   */
  clockSkewAllowanceMs?: number;
  tracing?: MessagingTracingOptions;
}

/** Where a handler's message came from: `[stream, entry id, delivery count]`. */
export class RedisStreamsContext extends BaseRpcContext<[string, string, number]> {
  getStream(): string {
    return this.args[0];
  }
  /** The entry's id in its stream (`<ms>-<seq>`). */
  getEntryId(): string {
    return this.args[1];
  }
  /** 1 on the first delivery; more when the entry is handled again after a crash or a failure. */
  getDeliveryCount(): number {
    return this.args[2];
  }
}

type Entry = [id: string, fields: string[] | null];

/** Streams read together with one XREADGROUP on a blocking connection of their own, and where each read is. */
class Lane {
  reader?: Redis;
  /** The handlers started by the last read (see `lastBatchSettled`). */
  lastBatch: Promise<unknown>[] = [];
  /** Streams whose own pending entries were all handled since start (read with `>` from then on). */
  readonly pendingDone = new Set<string>();
  readonly pendingFrom = new Map<string, string>();
  lastReadOkAt = 0;

  constructor(readonly streams: readonly string[]) {}
}

/**
 * KEYS[1] the reply list, KEYS[2] the request's ticket; ARGV[1] the reply, ARGV[2] the list's time to live (ms).
 * Pushes only by deleting the ticket the requesting client set: a forged request (no ticket) or a second reply to
 * the same request pushes nothing, so nobody can flood a client's list or keep it alive through this server.
 */
/** How long the next read waits, at most, for the last read's handlers (see `lastBatchSettled`). */
const BATCH_GRACE_MS = 50;

const PUSH_REPLY_SCRIPT = `
if redis.call('DEL', KEYS[2]) == 0 then return 0 end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * A Nest microservice transport on Redis Streams with a consumer group: at-least-once delivery, acknowledged after
 * the handler succeeded, its own pending entries handled again on start, stale ones of dead consumers claimed,
 * poison entries moved to a dead-letter stream. Every handler runs under a CONSUMER span whose parent (or link) is
 * the PRODUCER span named by the entry's trace context.
 */
export class ServerRedisStreams extends Server implements CustomTransportStrategy, ReadinessCheck {
  override readonly transportId = Symbol('REDIS_STREAMS');
  private readonly options: Required<Omit<ServerRedisStreamsOptions, 'tracing' | 'url' | 'sentinel' | 'cluster'>> & { target: RedisTopology };
  private readonly messageSpans: MessageSpans;
  private readonly problems = new RateLimitedLog((line) => this.streamsLogger.warn(line));
  private readonly streamsLogger = new Logger(ServerRedisStreams.name);
  private commands?: Redis;
  /** The streams read together (one XREADGROUP), each with its own blocking connection: one, or one per hash slot. */
  private lanes: Lane[] = [];
  /** The pattern of each stream read. */
  private readonly patternOf = new Map<string, string>();
  private reading?: Promise<void>;
  /** Handler slots promised to reads in progress (several lanes read at once): concurrency is the server's. */
  private reservedSlots = 0;
  /** Readers waiting for a slot, woken when a read gives back the slots it did not fill. */
  private slotWaiters: (() => void)[] = [];
  private isClosing = false;
  /** Aborted on close: a reader waiting for a free handler slot stops waiting. */
  private readonly closing = new AbortController();
  /** The handler slots taken: the reader waits for a free one, close for all. */
  private readonly running = new RunningHandlers(this.streamsLogger, ': their entries stay pending');
  /** `<stream> <entry id>` of the entries being handled here: never claimed back by this consumer while running. */
  private readonly handling = new Set<string>();
  private lastClaimAt = 0;
  /** Entries no handler should see: kept in the dead-letter stream and acknowledged, counted, logged once a minute per kind. */
  readonly deadLetters: DeadLetters<StreamEntry>;

  constructor(options: ServerRedisStreamsOptions) {
    super();
    this.options = {
      target: splitTopology(options).topology ?? { url: DEFAULT_REDIS_URL },
      partitions: checkPartitions(options.partitions ?? 1),
      streamPrefix: options.streamPrefix ?? DEFAULT_STREAM_PREFIX,
      group: options.group ?? DEFAULT_GROUP,
      consumer: options.consumer ?? hostname(),
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
      blockMs: options.blockMs ?? DEFAULT_BLOCK_MS,
      claimIdleMs: options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS,
      maxDeliveries: options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES,
      deadLetterStream: options.deadLetterStream ?? DEFAULT_DEAD_LETTER_STREAM,
      maxEntryBytes: options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES,
      maxEntryDepth: options.maxEntryDepth ?? DEFAULT_MAX_MESSAGE_DEPTH,
      drainTimeoutMs: options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
      clockSkewAllowanceMs: options.clockSkewAllowanceMs ?? DEFAULT_CLOCK_SKEW_ALLOWANCE_MS,
    };
    this.messageSpans = new MessageSpans(options.tracing);
    this.deadLetters = new DeadLetters({
      store: new DeadLetterStream(() => this.commands, this.options.deadLetterStream, this.options.group),
      describe: ({ stream, entryId }) => `entry ${entryId} of ${stream}`,
    });
  }

  /** Creates the groups (from the start of each stream: nothing added before the first consumer is skipped). */
  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      this.commands = createRedisConnection(this.options.target, `${ServerRedisStreams.name} commands`);
      for (const pattern of this.messageHandlers.keys()) {
        for (const stream of partitionStreams(this.options.streamPrefix, pattern, this.options.partitions)) this.patternOf.set(stream, pattern);
      }
      // On a cluster, one XREADGROUP may only name streams of one hash slot.
      const bySlot = new Map<number, string[]>();
      for (const stream of this.patternOf.keys()) {
        const slot = 'cluster' in this.options.target ? slotOf(stream) : 0;
        bySlot.set(slot, [...(bySlot.get(slot) ?? []), stream]);
      }
      this.lanes = [...bySlot.values()].map((streams) => new Lane(streams));
      await this.createGroups();
      // Blocking reads get connections of their own: a command behind a 1 s XREADGROUP BLOCK would wait for it.
      for (const lane of this.lanes) {
        lane.reader = createRedisConnection(this.options.target, `${ServerRedisStreams.name} reader`, { maxRetriesPerRequest: null });
        // Redis just answered: ready from now, not only after the first read has returned (up to blockMs later).
        lane.lastReadOkAt = Date.now();
      }
      this.reading = Promise.all(this.lanes.map((lane) => this.readLoop(lane))).then(() => undefined);
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Stops reading, lets running handlers finish (within `drainTimeoutMs`), then closes the connections. */
  async close(): Promise<void> {
    this.isClosing = true;
    // No new entry is taken: a blocked read is cut now (handlers run while the reader waits for new entries). An
    // entry Redis had already handed to it stays pending for this consumer's next start (or a claim).
    for (const lane of this.lanes) lane.reader?.disconnect();
    this.closing.abort(); // a reader waiting for a slot sees the close
    await withTimeout<unknown>(this.reading ?? Promise.resolve(), Math.min(this.options.drainTimeoutMs, 1000)).catch(() => undefined);
    await this.running.drain(this.options.drainTimeoutMs);
    // QUIT waits for Redis to answer: not for long when it is away.
    await withTimeout<unknown>(this.commands?.quit() ?? Promise.resolve(), 1000).catch(() => this.commands?.disconnect());
  }

  on(): never {
    throw new Error('ServerRedisStreams emits no events; its state is in the logs and in readiness()');
  }

  unwrap<T>(): T {
    return [this.commands, ...this.lanes.map((lane) => lane.reader)] as T;
  }

  /** Ready while the read loop is reading: Redis answers and the last read succeeded recently. For readiness probes. */
  async readiness(): Promise<Readiness> {
    if (!this.commands || !this.reading) return { ready: false, reason: 'not listening yet' };
    if (this.isClosing) return { ready: false, reason: 'closing' };
    const stale = this.lanes.find((lane) => Date.now() - lane.lastReadOkAt > this.options.blockMs * 3 + 1000);
    if (stale) return { ready: false, reason: `no successful read lately${this.lanes.length > 1 ? ` (${stale.streams.join(', ')})` : ''}` };
    return { ready: true };
  }

  private async createGroups(): Promise<void> {
    for (const stream of this.patternOf.keys()) {
      await this.commands?.xgroup('CREATE', stream, this.options.group, '0', 'MKSTREAM').catch((error: Error) => {
        if (!error.message.startsWith('BUSYGROUP')) throw error;
      });
    }
  }

  /**
   * Before the next read, the handlers of the last one get up to `BATCH_GRACE_MS` to finish: entries that arrive
   * meanwhile are then read together. Reading again at once would take them one by one, a round trip each (measured:
   * one XREADGROUP per entry, 2.4× slower at 64 in flight). A slow handler delays the next read once, by the grace
   * at most, then holds only its own slot.
   */
  private async lastBatchSettled(lane: Lane): Promise<void> {
    const batch = lane.lastBatch;
    lane.lastBatch = [];
    if (batch.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, BATCH_GRACE_MS)));
    await Promise.race([Promise.allSettled(batch), grace]);
    clearTimeout(timer);
  }

  /** How many more handlers may start now; waits until one may (or the server closes). */
  private async freeSlots(): Promise<number> {
    while (this.running.count + this.reservedSlots >= this.options.concurrency && !this.isClosing) {
      const released = new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      await Promise.race([this.running.nextEnd(this.closing.signal).catch(() => undefined), released]); // aborted: closing
    }
    return this.options.concurrency - this.running.count - this.reservedSlots;
  }

  private async readLoop(lane: Lane): Promise<void> {
    while (!this.isClosing && lane.streams.length > 0) {
      try {
        if (Date.now() - this.lastClaimAt >= Math.min(this.options.claimIdleMs, 5000)) await this.claimStale();
        await this.readBatch(lane);
        lane.lastReadOkAt = Date.now();
      } catch (error) {
        if (this.isClosing) break;
        const message = error instanceof Error ? error.message : String(error);
        // A Redis that lost its data (restarted without persistence) has no group any more: create it again.
        if (message.includes('NOGROUP')) await this.createGroups().catch(() => undefined);
        this.problems.write('read', `Reading the streams failed, retrying: ${message}`);
        await delay(Math.min(1000, this.options.blockMs));
      }
    }
  }

  /**
   * First this consumer's own pending entries (from a previous run), then new ones (`>`), blocking; as many as there
   * are free handler slots. The handlers are started, not awaited: the next read waits for a free slot only.
   */
  private async readBatch(lane: Lane): Promise<void> {
    await this.lastBatchSettled(lane);
    const free = await this.freeSlots();
    if (this.isClosing) return;
    // Each lane blocks in its read with its slots reserved: an even share each, so that every lane can wait at once.
    const share = Math.max(1, Math.floor(this.options.concurrency / this.lanes.length));
    const count = Math.min(this.options.batchSize, free, share);
    const ids = lane.streams.map((stream) => (lane.pendingDone.has(stream) ? '>' : (lane.pendingFrom.get(stream) ?? '0')));
    const readingPending = ids.some((id) => id !== '>');
    this.reservedSlots += count;
    let reply: [string, Entry[]][] | null;
    try {
      reply = (await lane.reader?.call(
        'XREADGROUP',
        'GROUP',
        this.options.group,
        this.options.consumer,
        'COUNT',
        count,
        // Explicit ids (own pending entries) never block; `>` does.
        ...(readingPending ? [] : ['BLOCK', this.options.blockMs]),
        'STREAMS',
        ...lane.streams,
        ...ids,
      )) as [string, Entry[]][] | null;
    } finally {
      this.reservedSlots -= count;
      const waiters = this.slotWaiters;
      this.slotWaiters = [];
      waiters.forEach((wake) => wake());
    }
    // Reading works; a slow batch of handlers after it must not make the reader look stuck to a health probe.
    lane.lastReadOkAt = Date.now();
    const byStream = new Map(reply ?? []);
    for (const [index, stream] of lane.streams.entries()) {
      const entries = byStream.get(stream) ?? [];
      if (ids[index] !== '>') {
        if (entries.length === 0) lane.pendingDone.add(stream);
        else lane.pendingFrom.set(stream, entries[entries.length - 1][0]);
      }
      // Never rejects (handleEntry logs its failures); the read loop goes on while it runs.
      for (const entry of entries) lane.lastBatch.push(this.handleEntry(stream, entry, ids[index] !== '>'));
    }
  }

  /** Entries idle longer than `claimIdleMs` on any consumer of the group become this one's, and are handled. */
  private async claimStale(): Promise<void> {
    this.lastClaimAt = Date.now();
    for (const stream of this.patternOf.keys()) {
      let cursor = '0-0';
      do {
        const free = await this.freeSlots();
        if (this.isClosing) return;
        const count = Math.min(this.options.batchSize, free);
        const [next, entries] = (await this.commands?.xautoclaim(stream, this.options.group, this.options.consumer, this.options.claimIdleMs, cursor, 'COUNT', count)) as [string, Entry[]];
        // An entry still running here (a handler slower than claimIdleMs) is not started twice: it is acknowledged
        // when it finishes.
        for (const entry of entries) if (!this.handling.has(`${stream} ${entry[0]}`)) void this.handleEntry(stream, entry, true);
        cursor = next;
      } while (cursor !== '0-0' && !this.isClosing);
    }
  }

  /** Handles one entry in a handler slot; never rejects (a failure is logged, the entry left pending). */
  private async handleEntry(stream: string, [entryId, fields]: Entry, isRedelivery: boolean): Promise<void> {
    const slotFreed = this.running.start();
    const key = `${stream} ${entryId}`;
    this.handling.add(key);
    try {
      const deliveries = isRedelivery ? await this.deliveryCount(stream, entryId) : 1;
      // An entry trimmed (MAXLEN) or deleted while pending comes back without fields: nothing to handle.
      if (fields === null) return await this.ack(stream, entryId);
      const read = readEntry(fields, this.options.maxEntryBytes, this.options.maxEntryDepth);
      if (!read.accepted) return await this.deadLetter(stream, entryId, fields, read.kind, read.reason);
      const pattern = this.patternOf.get(stream);
      if (read.message.pattern !== pattern) {
        return await this.deadLetter(stream, entryId, fields, 'unknown-pattern', `pattern "${read.message.pattern.slice(0, 100)}" on stream "${stream}"`);
      }
      // Judged by when Redis added the entry (its id's time), not when it is read: a backlog is not late.
      const lateness = checkDeadline(fieldValue(fields, DEADLINE_KEY), entryTimeMs(entryId), this.options.clockSkewAllowanceMs);
      if (lateness.late) return await this.deadLetter(stream, entryId, fields, lateness.kind, `added to the stream ${lateness.reason}`);
      if (deliveries > this.options.maxDeliveries) {
        return await this.deadLetter(stream, entryId, fields, 'poison', `delivered ${deliveries} times, never handled`);
      }
      const invalid = await this.process(stream, entryId, deliveries, read.message, read.bytes);
      // Handled again it would fail the same way: set aside at once, like the entries refused before any handler.
      if (invalid) return await this.deadLetter(stream, entryId, fields, 'invalid-payload', invalid.message);
    } catch (error) {
      // Left pending: claimed again after `claimIdleMs`, dead-lettered after `maxDeliveries`.
      this.problems.write('handle', `Entry ${entryId} of ${stream} not handled: ${describeError(error).message}`);
    } finally {
      this.handling.delete(key);
      slotFreed();
    }
  }

  /** Runs the handler(s) and acknowledges the entry; an event refused for its payload is returned unacknowledged. */
  private async process(stream: string, entryId: string, deliveries: number, message: StreamMessage, bytes: number): Promise<InvalidPayloadError | undefined> {
    const handler = this.getHandlerByPattern(message.pattern);
    const isRequest = message.id !== undefined && message.reply !== undefined;
    const consumer = startConsumerSpan(this.messageSpans, message.carrier, {
      destination: message.pattern,
      data: message.data,
      messageId: message.id ?? entryId,
      envelopeBytes: bytes,
      attributes: { ...redisNodeAttributes(this.commands, stream), ...(deliveries > 1 && { [ATTR_DELIVERY_COUNT]: deliveries }) },
    });
    let invalid: InvalidPayloadError | undefined;
    try {
      await otelContext.with(consumer.context, async () => {
        const rpcContext = new RedisStreamsContext([stream, entryId, deliveries]);
        if (!handler) throw new Error(`There is no matching message handler defined in the remote service for "${message.pattern}"`);
        let response: unknown;
        try {
          // Event handlers of one pattern are chained through `next`; a request has one handler.
          for (let current: MessageHandler | undefined = handler; current; current = isRequest ? undefined : current.next) {
            response = await settle(await current(message.data, rpcContext));
          }
        } catch (error) {
          consumer.fail(error);
          if (!isRequest) {
            invalid = invalidPayloadOf(error);
            if (invalid) return;
            throw error;
          }
          // A request is answered either way: the caller gets the error, the entry is done.
          await this.reply(message.reply as string, message.id as string, { err: serializeError(error) });
          return;
        }
        if (isRequest) await this.reply(message.reply as string, message.id as string, { response });
      });
      if (invalid) return invalid;
      await this.ack(stream, entryId);
      return undefined;
    } finally {
      consumer.end();
    }
  }

  private async deliveryCount(stream: string, entryId: string): Promise<number> {
    const pending = (await this.commands?.xpending(stream, this.options.group, entryId, entryId, 1)) as [string, string, number, number][] | undefined;
    return pending?.[0]?.[3] ?? 1;
  }

  private async ack(stream: string, entryId: string): Promise<void> {
    await this.commands?.xack(stream, this.options.group, entryId);
  }

  /** Pushes the reply to `list` if the request's ticket is still there (see PUSH_REPLY_SCRIPT); else logs why not. */
  private async reply(list: string, id: string, outcome: { response: unknown } | { err: unknown }): Promise<void> {
    const packet = JSON.stringify({ id, ...outcome, isDisposed: true });
    const pushed = await this.commands?.eval(PUSH_REPLY_SCRIPT, 2, list, replyTicketKey(list, id), packet, REPLY_LIST_TTL_MS);
    if (pushed === 0) {
      this.problems.write('no-ticket', `Reply to request ${id.slice(0, 100)} not pushed to ${list.slice(0, 100)}: no ticket (its caller stopped waiting, it was answered already, or the request was forged)`);
    }
  }

  /** Kept in the dead-letter stream with why and acknowledged; rejects (the entry stays pending) if it could not be. */
  private deadLetter(stream: string, entryId: string, fields: readonly string[] | null, kind: RejectionKind, reason: string): Promise<void> {
    const destination = this.patternOf.get(stream) ?? stream;
    return this.deadLetters.refuse({ kind, reason, destination }, { stream, entryId, fields });
  }
}

/** A handler's result: a value, a promise, or an observable (its last value). */
async function settle(result: unknown): Promise<unknown> {
  return isObservable(result) ? lastValueFrom(result, { defaultValue: undefined }) : result;
}

/** What an RPC error becomes on the wire: Nest's filters give plain objects; an Error keeps its name and message. */
function serializeError(error: unknown): unknown {
  return error instanceof Error ? { name: error.name, message: error.message } : error;
}

/** The value of `name` in an entry's `[field, value, …]` list, the first one if repeated. */
function fieldValue(fields: readonly string[], name: string): string | undefined {
  for (let index = 0; index + 1 < fields.length; index += 2) if (fields[index] === name) return fields[index + 1];
  return undefined;
}

/** When Redis added an entry, on its clock: the `<ms>` of its `<ms>-<seq>` id. */
function entryTimeMs(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf('-')));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The microservice options for `connectMicroservice(redisStreamsServer({ url, group }))`. */
export function redisStreamsServer(options: ServerRedisStreamsOptions) {
  return { strategy: new ServerRedisStreams(options) };
}
