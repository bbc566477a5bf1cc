import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { BaseRpcContext, type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { context as otelContext } from '@opentelemetry/api';
import {
  createRedisConnection,
  DEADLINE_KEY,
  DEFAULT_CLOCK_SKEW_ALLOWANCE_MS,
  DEFAULT_MAX_MESSAGE_DEPTH,
  type InvalidPayloadError,
  type MessagingTracingOptions,
  RateLimitedLog,
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
  RunningHandlers,
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
import { readEntry, type StreamMessage } from '../stream-entry';
import { DeadLetterStream, type StreamEntry } from './dead-letter-stream';

export interface ServerRedisStreamsOptions {
  /** `redis://[user:password@]host[:port][/db]`. */
  url: string;
  streamPrefix?: string;
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
  private readonly options: Required<Omit<ServerRedisStreamsOptions, 'tracing'>>;
  private readonly messageSpans: MessageSpans;
  private readonly problems = new RateLimitedLog((line) => this.streamsLogger.warn(line));
  private readonly streamsLogger = new Logger(ServerRedisStreams.name);
  private commands?: Redis;
  private reader?: Redis;
  private streams: string[] = [];
  private reading?: Promise<void>;
  private isClosing = false;
  /** Aborted on close: a reader waiting for a free handler slot stops waiting. */
  private readonly closing = new AbortController();
  /** The handler slots taken: the reader waits for a free one, close for all. */
  private readonly running = new RunningHandlers(this.streamsLogger, ': their entries stay pending');
  /** `<stream> <entry id>` of the entries being handled here: never claimed back by this consumer while running. */
  private readonly handling = new Set<string>();
  private lastClaimAt = 0;
  /** The handlers started by the last read (see `lastBatchSettled`). */
  private lastBatch: Promise<unknown>[] = [];
  /** Streams whose own pending entries were all handled since start (read with `>` from then on). */
  private readonly pendingDone = new Set<string>();
  private readonly pendingFrom = new Map<string, string>();
  private lastReadOkAt = 0;
  /** Entries no handler should see: kept in the dead-letter stream and acknowledged, counted, logged once a minute per kind. */
  readonly deadLetters: DeadLetters<StreamEntry>;

  constructor(options: ServerRedisStreamsOptions) {
    super();
    this.options = {
      url: options.url,
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
      this.commands = createRedisConnection(this.options.url, `${ServerRedisStreams.name} commands`);
      // Blocking reads get a connection of their own: a command behind a 1 s XREADGROUP BLOCK would wait for it.
      this.reader = createRedisConnection(this.options.url, `${ServerRedisStreams.name} reader`, { maxRetriesPerRequest: null });
      this.streams = [...this.messageHandlers.keys()].map((pattern) => this.options.streamPrefix + pattern);
      await this.createGroups();
      // Redis just answered: ready from now, not only after the first read has returned (up to blockMs later).
      this.lastReadOkAt = Date.now();
      this.reading = this.readLoop();
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
    this.reader?.disconnect();
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
    return [this.commands, this.reader] as T;
  }

  /** Ready while the read loop is reading: Redis answers and the last read succeeded recently. For readiness probes. */
  async readiness(): Promise<Readiness> {
    if (!this.commands || !this.reading) return { ready: false, reason: 'not listening yet' };
    if (this.isClosing) return { ready: false, reason: 'closing' };
    if (Date.now() - this.lastReadOkAt > this.options.blockMs * 3 + 1000) return { ready: false, reason: 'no successful read lately' };
    return { ready: true };
  }

  private async createGroups(): Promise<void> {
    for (const stream of this.streams) {
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
  private async lastBatchSettled(): Promise<void> {
    const batch = this.lastBatch;
    this.lastBatch = [];
    if (batch.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, BATCH_GRACE_MS)));
    await Promise.race([Promise.allSettled(batch), grace]);
    clearTimeout(timer);
  }

  /** How many more handlers may start now; waits until one may (or the server closes). */
  private async freeSlots(): Promise<number> {
    while (this.running.count >= this.options.concurrency && !this.isClosing) {
      await this.running.nextEnd(this.closing.signal).catch(() => undefined); // aborted: closing
    }
    return this.options.concurrency - this.running.count;
  }

  private async readLoop(): Promise<void> {
    while (!this.isClosing && this.streams.length > 0) {
      try {
        if (Date.now() - this.lastClaimAt >= Math.min(this.options.claimIdleMs, 5000)) await this.claimStale();
        await this.readBatch();
        this.lastReadOkAt = Date.now();
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
  private async readBatch(): Promise<void> {
    await this.lastBatchSettled();
    const free = await this.freeSlots();
    if (this.isClosing) return;
    const ids = this.streams.map((stream) => (this.pendingDone.has(stream) ? '>' : (this.pendingFrom.get(stream) ?? '0')));
    const readingPending = ids.some((id) => id !== '>');
    const reply = (await this.reader?.call(
      'XREADGROUP',
      'GROUP',
      this.options.group,
      this.options.consumer,
      'COUNT',
      Math.min(this.options.batchSize, free),
      // Explicit ids (own pending entries) never block; `>` does.
      ...(readingPending ? [] : ['BLOCK', this.options.blockMs]),
      'STREAMS',
      ...this.streams,
      ...ids,
    )) as [string, Entry[]][] | null;
    // Reading works; a slow batch of handlers after it must not make the reader look stuck to a health probe.
    this.lastReadOkAt = Date.now();
    const byStream = new Map(reply ?? []);
    for (const [index, stream] of this.streams.entries()) {
      const entries = byStream.get(stream) ?? [];
      if (ids[index] !== '>') {
        if (entries.length === 0) this.pendingDone.add(stream);
        else this.pendingFrom.set(stream, entries[entries.length - 1][0]);
      }
      // Never rejects (handleEntry logs its failures); the read loop goes on while it runs.
      for (const entry of entries) this.lastBatch.push(this.handleEntry(stream, entry, ids[index] !== '>'));
    }
  }

  /** Entries idle longer than `claimIdleMs` on any consumer of the group become this one's, and are handled. */
  private async claimStale(): Promise<void> {
    this.lastClaimAt = Date.now();
    for (const stream of this.streams) {
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
      const pattern = stream.slice(this.options.streamPrefix.length);
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
      ...(deliveries > 1 && { attributes: { [ATTR_DELIVERY_COUNT]: deliveries } }),
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
    const destination = stream.slice(this.options.streamPrefix.length);
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
