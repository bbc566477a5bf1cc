import { Logger, type LoggerService } from '@nestjs/common';
import { ClientRedis, type ReadPacket, type RedisOptions, type WritePacket } from '@nestjs/microservices';
import { type Context, type Span, context as otelContext, trace } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { Observable } from 'rxjs';
import { endMessageSpan, finishMessageSpan, isMessageSpan, MessageSpans, recordEnvelopeSize, recordMessageFailure } from '../messaging/message-spans';
import { UNTRACED_CONTEXT } from '../messaging/untraced-context';
import { injectTraceCarrier } from '../propagation/message-carrier';
import { ATTR_MESSAGING_MESSAGE_ID } from '../semconv';
import type { MessagingTracingOptions } from '../types';
import { redisNodeAttributes } from '../messaging/redis-node';
import { unwrapRecord } from '../messaging/redis-record';
import { DeliveryAccounting } from './delivery-accounting';
import { collapseOutageLogs } from './outage-log';
import { clusterOf, createClusterClient, hasOneNode, quitClosesSentinels } from './cluster-client';
import { redisConnectionOptions, redisTopologyOptions } from './redis-connection.options';
import { type RedisTopology, splitTopology } from './redis-topology';
import { RedisRecordSerializer } from './redis-record.serializer';

/** Options of `TracedClientRedis`: Nest's Redis client options plus `tracing`. */
export type TracedRedisClientOptions = NonNullable<RedisOptions['options']> & { tracing?: MessagingTracingOptions };

/**
 * Nest's Redis client, traced: every `emit` and `send` runs under a PRODUCER span `send <channel>` whose context
 * travels in the packet's `metadata`. `data` is never touched. A `RedisRecord` carries a deadline the consumer
 * enforces. Use it as the `customClass` of a client.
 */
export class TracedClientRedis extends ClientRedis {
  private readonly messageSpans: MessageSpans;
  private readonly tracingLogger = new Logger(TracedClientRedis.name);
  private userDispatchHook?: (packet: ReadPacket) => void;
  /** The PRODUCER span of the request `publish` is handing to Nest (synchronously), for `assignPacketId`. */
  private publishingSpan?: Span;
  /** Events that reached no subscriber (lost: pub/sub keeps nothing), counted and logged once per stretch. */
  readonly deliveries = new DeliveryAccounting(TracedClientRedis.name);

  constructor(options: TracedRedisClientOptions = {}) {
    const { tracing, ...redisOptions } = options;
    super(redisOptions);
    (this as unknown as { logger: LoggerService }).logger = collapseOutageLogs(this.logger, 'Redis connection of the client');
    this.messageSpans = new MessageSpans(tracing);
    this.serializer = new RedisRecordSerializer(this.serializer);
    super.setOnDispatchHook((packet) => this.onDispatch(packet));
  }

  /** An ioredis `Cluster` when the options carry one (`redisTopologyOptions({ cluster })`), else Nest's `Redis`. */
  override async createClient(): Promise<Redis> {
    const cluster = clusterOf(this.options);
    return cluster ? createClusterClient(cluster, (times) => this.createRetryStrategy(times)) : quitClosesSentinels(await super.createClient());
  }

  /** Chained after the hook that injects trace context, never instead of it. */
  override setOnDispatchHook(hook: (packet: ReadPacket) => void): void {
    this.userDispatchHook = hook;
  }

  /**
   * `send` is cold: the request is published when the result is subscribed. The span's parent is the context of
   * this call, the span itself covers subscription to reply (or error, or unsubscription before any reply).
   */
  override send<TResult = unknown, TInput = unknown>(pattern: unknown, data: TInput): Observable<TResult> {
    const parent = otelContext.active();
    const request$ = super.send<TResult, TInput>(pattern, data);
    return new Observable<TResult>((subscriber) => {
      const span = this.startSpan(parent, pattern, data);
      if (!span) return request$.subscribe(subscriber);
      let hasReply = false;
      const end = (error?: unknown) => finishMessageSpan(span, error);
      const subscription = otelContext.with(trace.setSpan(parent, span), () =>
        request$.subscribe({
          next: (value) => {
            hasReply = true;
            subscriber.next(value);
          },
          error: (error: unknown) => {
            end(error);
            subscriber.error(error);
          },
          complete: () => {
            end();
            subscriber.complete();
          },
        }),
      );
      return () => {
        subscription.unsubscribe();
        // An rxjs `timeout()` or a cancelled request unsubscribes before any reply: that is a failed request.
        end(hasReply || !isMessageSpan(span) ? undefined : new NoReplyError(pattern));
      };
    });
  }

  /** `emit` is hot: the event is published right away, under a span that ends when Redis accepted it. */
  override emit<TResult = unknown, TInput = unknown>(pattern: unknown, data: TInput): Observable<TResult> {
    const parent = otelContext.active();
    const span = this.startSpan(parent, pattern, data);
    if (!span) return super.emit<TResult, TInput>(pattern, data);
    const event$ = otelContext.with(trace.setSpan(parent, span), () => super.emit<TResult, TInput>(pattern, data));
    event$.subscribe({
      error: (error: unknown) => {
        recordMessageFailure(span, error);
        endMessageSpan(span);
      },
      complete: () => endMessageSpan(span),
    });
    return event$;
  }

  /**
   * Nest's event publish, keeping what it drops (how many subscribers PUBLISH reached), under no span: the PRODUCER
   * span is this publish, an ioredis `publish` span under it would repeat it.
   */
  protected override dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const channel = this.normalizePattern(packet.pattern);
    const message = JSON.stringify(this.serializer.serialize(packet));
    recordEnvelopeSize(trace.getSpan(otelContext.active()), message);
    const published = otelContext.with(UNTRACED_CONTEXT, () => this.pubClient.publish(channel, message) as Promise<number>);
    return published.then((receivers) => {
      // PUBLISH's answer counts all the channel's subscribers only where one node carries it.
      this.deliveries.record(channel, hasOneNode(clusterOf(this.options), channel) ? receivers : undefined);
      return undefined as T;
    });
  }

  /**
   * Nest's request publish (reply subscription, then PUBLISH) under no span, for the same reason as events'; the
   * reply-channel SUBSCRIBE is the transport's bookkeeping, not the application's.
   */
  protected override publish(partialPacket: ReadPacket, callback: (packet: WritePacket) => unknown): () => void {
    this.publishingSpan = trace.getSpan(otelContext.active());
    try {
      return otelContext.with(UNTRACED_CONTEXT, () => super.publish(partialPacket, callback));
    } finally {
      this.publishingSpan = undefined;
    }
  }

  protected override assignPacketId(packet: ReadPacket) {
    const packetWithId = super.assignPacketId(packet);
    const span = this.publishingSpan;
    if (isMessageSpan(span) && span.isRecording()) {
      span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, packetWithId.id);
      // Nest serializes the request inside `publish`, out of reach: measured here, for recorded spans only.
      recordEnvelopeSize(span, JSON.stringify(this.serializer.serialize(packetWithId)));
    }
    return packetWithId;
  }

  private onDispatch(packet: ReadPacket): void {
    try {
      const active = otelContext.active();
      if (trace.getSpan(active)) packet.metadata = injectTraceCarrier(active);
    } catch (error) {
      this.tracingLogger.warn(`Could not inject trace context into "${String(packet.pattern)}": ${String(error)}`);
    }
    this.userDispatchHook?.(packet);
  }

  private startSpan(parent: Context, pattern: unknown, data: unknown): Span | undefined {
    try {
      const destination = this.destinationOf(pattern);
      // The node that takes the publish, where one node carries the channel.
      const attributes = hasOneNode(clusterOf(this.options), destination) ? redisNodeAttributes(this.pubClient, destination) : undefined;
      return this.messageSpans.startProducer(parent, { destination, data: unwrapRecord(data).data, attributes });
    } catch (error) {
      // Tracing must never cost the application its message: publish untraced.
      this.tracingLogger.warn(`Could not start a producer span: ${String(error)}`);
      return undefined;
    }
  }

  private destinationOf(pattern: unknown): string {
    try {
      return this.normalizePattern(pattern as string);
    } catch {
      return String(pattern);
    }
  }
}

/** A request whose caller stopped waiting (a timeout, a cancellation) before any reply arrived. */
export class NoReplyError extends Error {
  constructor(pattern: unknown) {
    super(`No reply to "${String(pattern)}" before the caller unsubscribed (timeout or cancellation)`);
    this.name = 'NoReplyError';
  }
}

/**
 * Options of `tracedRedisClient`: where Redis is (a `url`, a `sentinel` or a `cluster`; default
 * redis://localhost:6379), tracing options, and any of Nest's Redis client options.
 */
export type TracedRedisClientConfig = (Partial<{ url: string }> | RedisTopology) & TracedRedisClientOptions;

/**
 * The client definition for `ClientsModule.register([{ name, ...tracedRedisClient({ url }) }])` (or the
 * `useFactory` of `registerAsync`): a `TracedClientRedis` connected to `url` (or to `{ sentinel }`, `{ cluster }`),
 * reconnecting after Redis restarts and failovers.
 */
export function tracedRedisClient(config: TracedRedisClientConfig = {}) {
  const { topology, rest } = splitTopology(config);
  return {
    customClass: TracedClientRedis,
    options: { ...(topology ? redisTopologyOptions(topology) : redisConnectionOptions()), ...rest } satisfies TracedRedisClientOptions,
  };
}
