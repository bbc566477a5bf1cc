import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { context as otelContext, type Span, trace } from '@opentelemetry/api';
import {
  createRedisConnection,
  DEFAULT_REDIS_URL,
  injectTraceCarrier,
  type MessagingTracingOptions,
  DEADLINE_KEY,
  NoReplyError,
  RateLimitedLog,
  type RedisClusterTopology,
  type RedisSentinelTopology,
  type RedisTopology,
} from '@nest-redis-otel/tracing';
import { endMessageSpan, finishMessageSpan, MessageSpans, recordMessageFailure, redisNodeAttributes, splitTopology, unwrapRecord } from '@nest-redis-otel/tracing/internal';
import type { Cluster, Redis } from 'ioredis';
import { Observable } from 'rxjs';
import {
  ATTR_MESSAGING_MESSAGE_ENVELOPE_SIZE,
  DEFAULT_MAX_STREAM_LENGTH,
  DEFAULT_STREAM_PREFIX,
  REPLY_LIST_PREFIX,
  REPLY_LIST_TTL_MS,
  replyTicketKey,
} from '../constants';
import { integerOption } from '../integer-option';
import { checkPartitions, partitionStreams } from '../partitions';
import { entryBytes, entryFields } from '../stream-entry';

export interface ClientRedisStreamsOptions {
  /** `redis://[user:password@]host[:port][/db]` (default redis://localhost:6379); or `sentinel`, or `cluster`. */
  url?: string;
  /** A primary managed by Redis Sentinel, instead of `url`. */
  sentinel?: RedisSentinelTopology;
  /** A Redis Cluster, instead of `url`. */
  cluster?: RedisClusterTopology;
  streamPrefix?: string;
  /** Streams per pattern, as on the server (see `ServerRedisStreamsOptions.partitions`); entries go round-robin. */
  partitions?: number;
  /** Streams are trimmed to about this many entries on each XADD (`MAXLEN ~`). */
  maxStreamLength?: number;
  /**
   * After each XADD, `WAIT` for this many replicas of the stream's primary to have it (default 0: do not wait). An
   * entry fewer replicas confirm within `waitTimeoutMs` fails the `emit`/`send` (it may still be there: retry with
   * the same idempotency key). Redis replication is asynchronous: without it, a primary that dies right after
   * acknowledging an XADD can lose the entry in a failover. See docs/transports.md ("Failover, measured").
   */
  waitReplicas?: number;
  /** How long `waitReplicas` waits (ms). Default 100. */
  waitTimeoutMs?: number;
  tracing?: MessagingTracingOptions;
}

/**
 * The client of `ServerRedisStreams`: `emit` adds an entry to the pattern's stream (XADD, trimmed), `send` adds one
 * with a correlation id and this client's reply list, and resolves with the reply pushed there. Every `emit` and
 * `send` runs under a PRODUCER span whose context travels in the entry's fields. Timeouts are the caller's
 * (`timeout()` on the observable); unsubscribing forgets the request. Data wrapped in a `RedisRecord` with a
 * deadline carries it in a `deadline` field: the server refuses the entry if Redis added it later than that.
 */
export class ClientRedisStreams extends ClientProxy {
  private readonly options: Required<Omit<ClientRedisStreamsOptions, 'tracing' | 'url' | 'sentinel' | 'cluster'>> & { target: RedisTopology };
  /** Each pattern's streams, and the next partition to add to. */
  private readonly partitionsOf = new Map<string, { streams: string[]; next: number }>();
  private readonly messageSpans: MessageSpans;
  private readonly streamsLogger = new Logger(ClientRedisStreams.name);
  private readonly problems = new RateLimitedLog((line) => this.streamsLogger.warn(line));
  private commands?: Redis;
  private replies?: Redis;
  private connecting?: Promise<void>;
  // The id in a hash tag: on a cluster, the list and the tickets of its requests are one slot (the server's push
  // script uses both).
  private readonly replyList = `${REPLY_LIST_PREFIX}{${randomUUID()}}`;
  private readonly waiting = new Map<string, (packet: WritePacket) => void>();
  private isReadingReplies = false;
  private isClosed = false;

  constructor(options: ClientRedisStreamsOptions) {
    super();
    this.options = {
      target: splitTopology(options).topology ?? { url: DEFAULT_REDIS_URL },
      partitions: checkPartitions(options.partitions ?? 1),
      streamPrefix: options.streamPrefix ?? DEFAULT_STREAM_PREFIX,
      maxStreamLength: options.maxStreamLength ?? DEFAULT_MAX_STREAM_LENGTH,
      waitReplicas: integerOption('waitReplicas', options.waitReplicas ?? 0, 0, 16),
      waitTimeoutMs: integerOption('waitTimeoutMs', options.waitTimeoutMs ?? 100, 1, 60_000),
    };
    this.messageSpans = new MessageSpans(options.tracing);
  }

  connect(): Promise<void> {
    this.isClosed = false;
    this.connecting ??= (async () => {
      // Connected outside any trace: the first request's trace shows its own commands only.
      await otelContext.with(trace.deleteSpan(otelContext.active()), async () => {
        // No offline queue: while Redis is away an XADD fails at once, rather than being written after the caller
        // was told it failed (a timeout) — an entry nobody accounts for.
        this.commands = createRedisConnection(this.options.target, `${ClientRedisStreams.name} commands`, { lazyConnect: true, enableOfflineQueue: false });
        await this.commands.connect();
      });
    })().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.connecting = undefined;
    this.replies?.disconnect();
    this.replies = undefined;
    await this.commands?.quit().catch(() => this.commands?.disconnect());
    this.commands = undefined;
  }

  unwrap<T>(): T {
    return this.commands as T;
  }

  /** `emit` is hot: the entry is added right away, under the caller's context. */
  override emit<TResult = unknown, TInput = unknown>(pattern: unknown, data: TInput): Observable<TResult> {
    const parent = otelContext.active();
    return otelContext.with(parent, () => super.emit<TResult, TInput>(pattern, data));
  }

  /** `send` is cold: the request's parent is the context where `send` was called, not where it is subscribed. */
  override send<TResult = unknown, TInput = unknown>(pattern: unknown, data: TInput): Observable<TResult> {
    const parent = otelContext.active();
    const request$ = super.send<TResult, TInput>(pattern, data);
    return new Observable<TResult>((subscriber) => otelContext.with(parent, () => request$.subscribe(subscriber)));
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const pattern = this.normalizePattern(packet.pattern);
    const span = this.messageSpans.startProducer(otelContext.active(), { destination: pattern, data: unwrapRecord(packet.data).data });
    try {
      const entryId = await this.add(pattern, packet.data, span);
      if (entryId) span.setAttribute('messaging.message.id', entryId);
      return undefined as T;
    } catch (error) {
      recordMessageFailure(span, error);
      throw error;
    } finally {
      endMessageSpan(span);
    }
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const pattern = this.normalizePattern(packet.pattern);
    const id = randomUUID();
    const span = this.messageSpans.startProducer(otelContext.active(), { destination: pattern, data: unwrapRecord(packet.data).data, messageId: id });
    const end = (error?: unknown) => finishMessageSpan(span, error);
    this.waiting.set(id, (reply) => {
      if (reply.isDisposed || reply.err) {
        this.waiting.delete(id);
        end(reply.err);
      }
      callback(reply);
    });
    this.readReplies();
    this.add(pattern, packet.data, span, { id, reply: this.replyList }).catch((error: unknown) => {
      this.waiting.delete(id);
      end(error);
      callback({ err: error, isDisposed: true });
    });
    return () => {
      // A timeout or a cancellation before the reply: the request failed for its caller.
      if (this.waiting.delete(id)) {
        end(new NoReplyError(packet.pattern));
        // Nobody reads a late reply: without its ticket the server does not push it. If this fails, the ticket
        // expires by itself (REPLY_LIST_TTL_MS).
        this.commands?.del(replyTicketKey(this.replyList, id)).catch(() => undefined);
      }
    };
  }

  /** XADD, trimmed, with the context of the PRODUCER `span` in the entry's fields and the entry's size on the span. */
  private async add(pattern: string, data: unknown, span: Span, request?: { id: string; reply: string }): Promise<string | null> {
    await this.connect();
    const { data: payload, metadata } = unwrapRecord(data);
    const fields = entryFields(pattern, payload, injectTraceCarrier(trace.setSpan(otelContext.active(), span)), request);
    const deadline = metadata[DEADLINE_KEY];
    if (deadline !== undefined) fields.push(DEADLINE_KEY, String(deadline));
    span.setAttribute(ATTR_MESSAGING_MESSAGE_ENVELOPE_SIZE, entryBytes(fields));
    const stream = this.streamFor(pattern);
    const commands = this.commands as Redis;
    span.setAttributes(redisNodeAttributes(commands, stream));
    const entryId = await this.write(commands, stream, fields, request);
    if (this.options.waitReplicas > 0) await this.awaitReplicas(commands, stream, entryId);
    return entryId;
  }

  /** WAIT on the connection that carried the XADD (on a cluster, the pool's connection to the stream's primary). */
  private async awaitReplicas(commands: Redis, stream: string, entryId: string | null): Promise<void> {
    const { waitReplicas, waitTimeoutMs } = this.options;
    const node = 'cluster' in this.options.target ? primaryConnectionOf(commands, stream) : commands;
    if (!node) throw new Error(`entry ${entryId} of ${stream}: no connection to its primary to WAIT on (the cluster is changing): not confirmed durable`);
    const replicas = await node.wait(waitReplicas, waitTimeoutMs);
    if (replicas < waitReplicas) {
      throw new Error(`entry ${entryId} of ${stream} reached ${replicas} of ${waitReplicas} replica(s) within ${waitTimeoutMs} ms: not confirmed durable`);
    }
  }

  private async write(commands: Redis, stream: string, fields: string[], request?: { id: string; reply: string }): Promise<string | null> {
    if (!request) return commands.xadd(stream, 'MAXLEN', '~', this.options.maxStreamLength, '*', ...fields);
    if ('cluster' in this.options.target) {
      // The ticket is in the reply list's slot, the stream in another: no transaction across them. The ticket first,
      // so that the reply finds it; if the XADD fails, the ticket expires unused (REPLY_LIST_TTL_MS).
      await commands.set(replyTicketKey(request.reply, request.id), '1', 'PX', REPLY_LIST_TTL_MS);
      return commands.xadd(stream, 'MAXLEN', '~', this.options.maxStreamLength, '*', ...fields);
    }
    // The request and the ticket that lets the server push its one reply, together or not at all.
    const results = await commands
      .multi()
      .set(replyTicketKey(request.reply, request.id), '1', 'PX', REPLY_LIST_TTL_MS)
      .xadd(stream, 'MAXLEN', '~', this.options.maxStreamLength, '*', ...fields)
      .exec();
    const failed = results?.find(([error]) => error)?.[0];
    if (!results || failed) throw failed ?? new Error('The request transaction was discarded');
    return results[1][1] as string | null;
  }

  /** The stream the next entry of `pattern` goes to: its only one, or its partitions in turn. */
  private streamFor(pattern: string): string {
    let partitions = this.partitionsOf.get(pattern);
    if (!partitions) {
      partitions = { streams: partitionStreams(this.options.streamPrefix, pattern, this.options.partitions), next: 0 };
      // Bounded like Nest's own per-pattern maps: patterns are the application's, not the callers'.
      if (this.partitionsOf.size < 1000) this.partitionsOf.set(pattern, partitions);
    }
    const stream = partitions.streams[partitions.next];
    partitions.next = (partitions.next + 1) % partitions.streams.length;
    return stream;
  }

  /** One loop per client, on a connection of its own, while requests wait for replies. */
  private readReplies(): void {
    if (this.isReadingReplies) return;
    this.isReadingReplies = true;
    void otelContext.with(trace.deleteSpan(otelContext.active()), async () => {
      this.replies ??= createRedisConnection(this.options.target, `${ClientRedisStreams.name} replies`, { maxRetriesPerRequest: null });
      try {
        while (this.waiting.size > 0 && !this.isClosed && this.replies) {
          try {
            const popped = await this.replies.brpop(this.replyList, 1);
            if (popped) this.deliver(popped[1]);
          } catch (error) {
            if (this.isClosed) break;
            this.problems.write('replies', `Reading replies failed, retrying: ${error instanceof Error ? error.message : String(error)}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
        }
      } finally {
        this.isReadingReplies = false;
        // A request that arrived while the loop was ending.
        if (this.waiting.size > 0 && !this.isClosed) this.readReplies();
      }
    });
  }

  private deliver(json: string): void {
    let packet: WritePacket & { id?: unknown };
    try {
      packet = JSON.parse(json) as WritePacket & { id?: unknown };
    } catch {
      this.problems.write('bad-reply', `A reply on ${this.replyList} is not JSON: ignored`);
      return;
    }
    // A reply for a request nobody waits for any more (timed out) is dropped.
    if (typeof packet.id === 'string') this.waiting.get(packet.id)?.(packet);
  }
}


/**
 * The cluster's own connection to the primary of `key`'s slot (the one its XADD went through): `Cluster#nodes` are
 * the pooled connections the cluster sends commands on, so a WAIT there follows the XADD on the same connection.
 */
function primaryConnectionOf(commands: Redis, key: string): Redis | undefined {
  const cluster = commands as unknown as Cluster;
  const owner = redisNodeAttributes(cluster, key);
  return cluster
    .nodes('master')
    .find((node) => node.options.host === owner['server.address'] && node.options.port === owner['server.port']);
}

/** The client definition for `ClientsModule.register([{ name, ...redisStreamsClient({ url }) }])`. */
export function redisStreamsClient(options: ClientRedisStreamsOptions) {
  return { customClass: ClientRedisStreams, options };
}
