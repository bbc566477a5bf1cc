import { Logger, type LoggerService } from '@nestjs/common';
import {
  type BaseRpcContext,
  type MessageHandler,
  RedisContext,
  type RedisOptions,
  ServerRedis,
  type WritePacket,
} from '@nestjs/microservices';
import { context as otelContext, trace } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { isObservable, type Observable, type Subscription, tap } from 'rxjs';
import { isMessageSpan, type MessageFacts, MessageSpans, recordMessageFailure } from '../messaging/message-spans';
import { UNTRACED_CONTEXT } from '../messaging/untraced-context';
import { redisNodeAttributes } from '../messaging/redis-node';
import { checkDeadline, DEADLINE_KEY, DEFAULT_CLOCK_SKEW_ALLOWANCE_MS } from '../messaging/message-deadline';
import type { MessagingTracingOptions } from '../types';
import { collapseOutageLogs } from '../client/outage-log';
import { clusterOf, createClusterClient, hasOneNode, quitClosesSentinels } from '../client/cluster-client';
import { redisConnectionOptions, redisTopologyOptions } from '../client/redis-connection.options';
import { type RedisTopology, splitTopology } from '../client/redis-topology';
import { type ChannelMessage, type DeadLetterOptions, DeadLetterList } from './dead-letter-list';
import { DeadLetters } from '../consumer/dead-letters';
import type { RejectionKind } from '../consumer/message-guard';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGE_DEPTH, inspectMessage } from '../consumer/message-guard';
import { withTimeout } from '../with-timeout';
import { TraceContextDeserializer } from './trace-context.deserializer';
import { DEFAULT_DRAIN_TIMEOUT_MS, RunningHandlers } from '../consumer/running-handlers';
import { startConsumerSpan } from '../consumer/consumer-span';
import type { Readiness, ReadinessCheck } from '../consumer/readiness';
import { invalidPayloadOf } from './invalid-payload.exception';

/** Options of `TracedServerRedis`: Nest's Redis server options plus `tracing` and the handling of bad messages. */
export type TracedRedisServerOptions = NonNullable<RedisOptions['options']> & {
  tracing?: MessagingTracingOptions;
  /** Larger messages are refused (dead-lettered) unread. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Messages whose JSON nests objects and arrays deeper than this (the envelope is level 1) are refused unparsed. Default 32. */
  maxMessageDepth?: number;
  /** Where refused messages are kept; `false`: only counted and logged. */
  deadLetters?: DeadLetterOptions | false;
  /** On close, how long the handlers already running may take to finish. Default 8000 ms. */
  drainTimeoutMs?: number;
  /**
   * The patterns this server handles (and subscribes to); the other handlers of the app are left to its other
   * transports (e.g. Redis Streams). Default: every handler's.
   */
  patterns?: readonly string[];
  /**
   * A message whose `metadata.deadline` (a `RedisRecord`'s) is less than this ahead when it arrives is refused as
   * `expired`: the bound on how far this host's clock and the producer's may be apart. Default 100 ms.
   */
  clockSkewAllowanceMs?: number;
};

const MAX_REMEMBERED_ROUTES = 1000;
/** Nest's answer to a request no handler takes (`NO_MESSAGE_HANDLER` of @nestjs/microservices 12.1.1, not exported). */
const NO_MESSAGE_HANDLER = 'There is no matching message handler defined in the remote service.';

/** The `RedisContext` of a message the guard let through, with what its CONSUMER span records. */
class AdmittedMessageContext extends RedisContext {
  constructor(
    args: ConstructorParameters<typeof RedisContext>[0],
    readonly facts: MessageFacts,
  ) {
    super(args);
  }
}

/**
 * Nest's Redis server, traced: every `@EventPattern` / `@MessagePattern` handler runs inside a CONSUMER span
 * `process <channel>` whose parent (or link) is the producer span named by the message's trace context.
 * Pass it as the `strategy` of a microservice.
 */
export class TracedServerRedis extends ServerRedis implements ReadinessCheck {
  private readonly messageSpans: MessageSpans;
  private readonly tracingLogger = new Logger(TracedServerRedis.name);
  private readonly maxMessageBytes: number;
  private readonly maxMessageDepth: number;
  private readonly patterns?: ReadonlySet<string>;
  /** Messages refused before any handler: counted, logged once per kind and interval, kept in a Redis list. */
  readonly deadLetters: DeadLetters<ChannelMessage>;
  /** Handlers running now, and their replies: what a graceful close waits for. */
  private readonly running = new RunningHandlers(this.tracingLogger);
  private readonly drainTimeoutMs: number;
  private readonly clockSkewAllowanceMs: number;
  private closing?: Promise<void>;
  /** Routes of the channels seen (a channel is one this server subscribed to): Nest's lookup parses each time. */
  private readonly routes = new Map<string, string>();

  constructor(options: TracedRedisServerOptions = {}) {
    const { tracing, maxMessageBytes, maxMessageDepth, deadLetters, drainTimeoutMs, patterns, clockSkewAllowanceMs, ...redisOptions } =
      options;
    super(redisOptions);
    (this as unknown as { logger: LoggerService }).logger = collapseOutageLogs(this.logger, 'Redis connection of the microservice');
    this.maxMessageBytes = maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxMessageDepth = maxMessageDepth ?? DEFAULT_MAX_MESSAGE_DEPTH;
    this.patterns = patterns && new Set(patterns);
    this.drainTimeoutMs = drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    this.clockSkewAllowanceMs = clockSkewAllowanceMs ?? DEFAULT_CLOCK_SKEW_ALLOWANCE_MS;
    this.deadLetters = new DeadLetters({
      store: deadLetters === false ? undefined : new DeadLetterList(() => this.pubClient, deadLetters),
      describe: ({ channel }) => `a message on "${channel}"`,
      logIntervalMs: deadLetters === false ? undefined : deadLetters?.logIntervalMs,
    });
    this.messageSpans = new MessageSpans(tracing);
    this.deserializer = new TraceContextDeserializer(this.deserializer);
    if (clusterOf(redisOptions)?.pubsub === 'sharded' && redisOptions.wildcards) {
      throw new Error('wildcards (pattern subscriptions) do not exist in sharded pub/sub: use the cluster pub/sub mode "global"');
    }
  }

  /** An ioredis `Cluster` when the options carry one (`redisTopologyOptions({ cluster })`), else Nest's `Redis`. */
  override async createRedisClient(): Promise<Redis> {
    const cluster = clusterOf(this.options);
    return cluster ? createClusterClient(cluster, (times) => this.createRetryStrategy(times)) : quitClosesSentinels(await super.createRedisClient());
  }

  /**
   * Marks the consumer span failed when the handler's result fails, whatever turned the failure into a reply; an
   * event refused for its payload (`InvalidPayloadException`, from a pipe) goes to the dead letters. A pattern
   * outside `patterns` is not registered (nor subscribed to).
   */
  override addHandler(
    pattern: unknown,
    callback: MessageHandler,
    isEventHandler?: boolean,
    extras?: Record<string, unknown>,
  ): void {
    if (this.patterns && !this.patterns.has(this.normalizePattern(pattern as Parameters<ServerRedis['normalizePattern']>[0]))) return;
    const traced = (async (...args: Parameters<MessageHandler>) => {
      const span = trace.getSpan(otelContext.active());
      const onFailure = (error: unknown) => {
        if (isMessageSpan(span)) recordMessageFailure(span, error);
        if (isEventHandler) this.refuseInvalidEvent(error, args[0], args[1]);
      };
      try {
        const result: unknown = await callback(...args);
        return isObservable(result) ? result.pipe(tap({ error: onFailure })) : result;
      } catch (error) {
        onFailure(error);
        throw error;
      }
    }) as MessageHandler;
    // Nest chains event handlers of one pattern through `next`, read and written on the registered function.
    Object.defineProperty(traced, 'next', {
      get: () => callback.next,
      set: (next: MessageHandler['next']) => (callback.next = next),
    });
    super.addHandler(pattern, traced, isEventHandler, extras);
  }

  /**
   * Refuses what no handler should see (oversized, nested too deep, not JSON, not an object, prototype keys, a
   * pattern that is not the channel's, past its deadline) into the dead letters; the rest goes to Nest's event or
   * request path, parsed once, with what the CONSUMER span records in its context.
   * This is `ServerRedis#handleMessage` of @nestjs/microservices 12.1.1 (parse, deserialize, `RedisContext`, then
   * `handleEvent`, or `handleRequest` with a reply publisher, Nest's error when no handler takes the request) with
   * the guard in place of its parse: Nest has no hook between receiving a message and parsing it.
   */
  override async handleMessage(channel: string, buffer: string, pub: Redis, pattern: string): Promise<unknown> {
    const raw = typeof buffer === 'string' ? buffer : String(buffer);
    // With wildcards, `channel` is the subscribed pattern (a packet's own pattern cannot be compared with it) and
    // `pattern` the channel the message came on.
    const inspection = inspectMessage(raw, this.options?.wildcards ? undefined : channel, this.maxMessageBytes, this.maxMessageDepth);
    if (!inspection.accepted) return this.refuse(inspection.kind, inspection.reason, pattern ?? channel, raw);
    const metadata = inspection.message['metadata'];
    const deadline = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>)[DEADLINE_KEY] : undefined;
    const lateness = checkDeadline(deadline, Date.now(), this.clockSkewAllowanceMs);
    if (lateness.late) return this.refuse(lateness.kind, lateness.reason, pattern ?? channel, raw);
    const packet = await this.deserializer.deserialize(inspection.message, { channel });
    const id = 'id' in packet ? packet.id : undefined;
    const context = new AdmittedMessageContext([pattern, packet.metadata], {
      destination: pattern,
      data: packet.data,
      messageId: id,
      envelopeBytes: Buffer.byteLength(raw),
      attributes: this.nodeAttributes(channel),
    });
    if (id === undefined) return this.handleEvent(channel, packet, context);
    const publish = this.getPublisher(pub, pattern, id, context);
    const handler = this.getHandlerByPattern(channel);
    if (!handler) return publish({ id, status: 'error', err: NO_MESSAGE_HANDLER });
    return this.handleRequest(context, async () => this.transformToObservable(await handler(packet.data, context)), publish);
  }

  /**
   * Every message's processing, from Nest's start hook to its end hook, runs in its CONSUMER span and counts as
   * running for a graceful close: the span starts and ends in this one call, around Nest's own runner, so that a
   * user's start hook runs inside it and a user's end hook before it ends.
   * `runWithProcessingHooks` is protected, not public API: in @nestjs/microservices 12.1.1 it is the one method
   * that `handleEvent` and `handleRequest` both go through, and it ends processing exactly once.
   */
  protected override runWithProcessingHooks(
    context: BaseRpcContext,
    fn: (runEndHook: () => void) => Promise<void>,
    endHookContext: BaseRpcContext = context,
  ): void {
    const handlerEnded = this.running.start();
    const consumer = context instanceof AdmittedMessageContext ? startConsumerSpan(this.messageSpans, context.getMetadata(), context.facts) : undefined;
    const run = () =>
      super.runWithProcessingHooks(
        context,
        async (runEndHook) => {
          const endProcessing = () => {
            try {
              runEndHook();
            } finally {
              handlerEnded();
              consumer?.end();
            }
          };
          try {
            await fn(endProcessing);
          } catch (error) {
            endProcessing();
            throw error;
          }
        },
        endHookContext,
      );
    return consumer ? otelContext.with(consumer.context, run) : run();
  }

  /** The node the message came from, where one node carries the channel. */
  private nodeAttributes(channel: string) {
    return hasOneNode(clusterOf(this.options), channel) ? redisNodeAttributes(this.subClient, channel) : undefined;
  }

  /** An event whose payload broke the contract is kept with the other refused messages, under its own kind. */
  private refuseInvalidEvent(error: unknown, data: unknown, context: unknown): void {
    const invalid = invalidPayloadOf(error);
    if (!invalid) return;
    const channel = context instanceof RedisContext ? context.getChannel() : 'unknown';
    // The raw text is gone by now: the packet is written again (its depth was capped, so this cannot overflow).
    const raw = JSON.stringify({ pattern: channel, data }) ?? '';
    // Never rejects here (the list store does not redeliver): a failure to keep it is logged and counted.
    void this.refuse('invalid-payload', invalid.message, channel, raw);
  }

  private refuse(kind: RejectionKind, reason: string, channel: string, raw: string): Promise<void> {
    return this.deadLetters.refuse({ kind, reason, destination: channel }, { channel, raw });
  }

  /**
   * Nest's route lookup tries `JSON.parse` on the channel name for every message, and a plain name throws: a
   * SyntaxError with its stack trace per message. The result depends on the name only, so it is kept (bounded:
   * channels are the ones subscribed to, but with wildcards any channel matching a pattern could arrive).
   */
  protected override getRouteFromPattern(pattern: string): string {
    let route = this.routes.get(pattern);
    if (route === undefined) {
      route = super.getRouteFromPattern(pattern);
      if (this.routes.size < MAX_REMEMBERED_ROUTES) this.routes.set(pattern, route);
    }
    return route;
  }

  /** Replies are published under no span: the CONSUMER span already covers the reply (see `UNTRACED_CONTEXT`). */
  override getPublisher(pub: Redis, pattern: unknown, id: string, ctx: RedisContext): (response: unknown) => Promise<unknown> | void {
    const publish = super.getPublisher(pub, pattern, id, ctx);
    return (response) => otelContext.with(UNTRACED_CONTEXT, () => publish(response));
  }

  /**
   * Nest replies on the next tick, after the handler's end hook: the reply pipeline counts as in flight until its
   * last packet (`isDisposed`) is handed to Redis, so that a graceful close does not cut a reply.
   */
  override send(stream$: Observable<unknown>, respond: (data: WritePacket) => Promise<unknown> | void): Subscription {
    const done = this.running.start();
    return super.send(stream$, async (packet: WritePacket) => {
      try {
        return await respond(packet);
      } finally {
        if (packet.isDisposed) done();
      }
    });
  }

  /**
   * A graceful stop: no new message is taken (unsubscribed first), the handlers already running finish (their
   * replies are sent) within `drainTimeoutMs`, then the connections close. Calling it again returns the same stop.
   */
  override close(): Promise<void> {
    this.closing ??= this.drainAndClose();
    return this.closing;
  }

  private async drainAndClose(): Promise<void> {
    const subscriber = this.subClient as { status?: string; unsubscribe(): Promise<unknown> } | undefined;
    if (subscriber?.status === 'ready') {
      await withTimeout(subscriber.unsubscribe(), 1000).catch(() => undefined); // closing anyway
    }
    await this.running.drain(this.drainTimeoutMs);
    await super.close();
  }

  /**
   * Whether the server can take messages now: its subscriber connection is up and has processed its SUBSCRIBE
   * commands (a PING on that connection is answered after them, in order), and its reply connection answers too.
   * For readiness probes; never throws.
   */
  async readiness(timeoutMs = 1000): Promise<Readiness> {
    const connections = [
      ['subscriber', this.subClient],
      ['publisher', this.pubClient],
    ] as const;
    for (const [role, client] of connections) {
      if (!client) return { ready: false, reason: 'not listening yet' };
      if (client.status !== 'ready') return { ready: false, reason: `${role} connection is ${client.status}` };
    }
    try {
      await withTimeout(Promise.all(connections.map(([, client]) => client.ping())), timeoutMs);
      return { ready: true };
    } catch (error) {
      return { ready: false, reason: `Redis did not answer: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

}

/**
 * Options of `tracedRedisServer`: where Redis is (a `url`, a `sentinel` or a `cluster`; default
 * redis://localhost:6379), tracing options, and any of Nest's Redis server options.
 */
export type TracedRedisServerConfig = (Partial<{ url: string }> | RedisTopology) & TracedRedisServerOptions;

/**
 * The microservice options for `NestFactory.createMicroservice(AppModule, tracedRedisServer({ url }))`: a
 * `TracedServerRedis` connected to `url` (or to `{ sentinel }`, `{ cluster }`) that reconnects and resubscribes
 * after Redis restarts and failovers.
 */
export function tracedRedisServer(config: TracedRedisServerConfig = {}) {
  const { topology, rest } = splitTopology(config);
  return { strategy: new TracedServerRedis({ ...(topology ? redisTopologyOptions(topology) : redisConnectionOptions()), ...rest }) };
}

