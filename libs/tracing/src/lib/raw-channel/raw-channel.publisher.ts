import { ROOT_CONTEXT, context as otelContext, trace } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { DeliveryAccounting } from '../client/delivery-accounting';
import { DEFAULT_CLOCK_SKEW_ALLOWANCE_MS } from '../messaging/message-deadline';
import { MessageSpans, recordEnvelopeSize, recordMessageFailure, endMessageSpan } from '../messaging/message-spans';
import { UNTRACED_CONTEXT } from '../messaging/untraced-context';
import { injectTraceCarrier } from '../propagation/message-carrier';
import type { MessagingTracingOptions } from '../types';

/**
 * PUBLISH unless Redis's clock is past `ARGV[3]` (ms): Redis itself refuses a publish that waited (in the socket of
 * a stalled server, in ioredis's offline queue) beyond its caller's deadline. Returns the receivers, or -1 if late.
 */
const PUBLISH_BEFORE_SCRIPT = `
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[3]) then return -1 end
return redis.call('PUBLISH', ARGV[1], ARGV[2])`;

/** Options of one `RawChannelPublisher.publish`. */
export interface RawPublishOptions {
  /**
   * When the caller stops waiting. The format of a raw channel has no room for it, so Redis checks it: a publish it
   * would run later than `deadline - clockSkewAllowanceMs` (its clock) is not run, and `publish` rejects.
   */
  deadline?: Date;
  /** How far Redis's clock and this host's may be apart. Default 100 ms. */
  clockSkewAllowanceMs?: number;
}

/** A publish that Redis refused because it ran after its deadline. */
export class LatePublishError extends Error {
  constructor(channel: string, deadline: Date) {
    super(`Redis refused to publish on "${channel}" after the deadline ${deadline.toISOString()}`);
    this.name = 'LatePublishError';
  }
}

/**
 * Publishes a JSON object on a plain Redis channel with the W3C keys (`traceparent`, `tracestate`, `baggage`)
 * injected at its top level, under a PRODUCER span: the layout a subscriber in another runtime reads with
 * `extract(carrier=payload)`, as in the Python tutorial this product descends from.
 */
export class RawChannelPublisher {
  private readonly messageSpans: MessageSpans;
  /** Publishes that reached no subscriber, counted and logged once per stretch. */
  readonly deliveries = new DeliveryAccounting(RawChannelPublisher.name);
  private connected?: Promise<unknown>;

  constructor(
    private readonly redis: Redis,
    options: MessagingTracingOptions = {},
  ) {
    this.messageSpans = new MessageSpans(options);
  }

  /**
   * Publishes `payload` plus the trace context on `channel`; resolves with the number of subscribers reached. With a
   * `deadline`, Redis runs the publish only before it (a script: EVAL must be allowed), else it rejects.
   */
  async publish(channel: string, payload: Record<string, unknown>, options: RawPublishOptions = {}): Promise<number> {
    await this.connectOutsideTraces();
    const parent = otelContext.active();
    const span = this.messageSpans.startProducer(parent, { destination: channel, data: payload });
    const spanContext = trace.setSpan(parent, span);
    try {
      const message = JSON.stringify({ ...payload, ...injectTraceCarrier(spanContext) });
      recordEnvelopeSize(span, message);
      // The PRODUCER span is this publish: no ioredis span under it.
      const receivers = await otelContext.with(UNTRACED_CONTEXT, () => this.send(channel, message, options));
      if (receivers < 0 && options.deadline) throw new LatePublishError(channel, options.deadline);
      // On a cluster, PUBLISH counts the subscribers of the node that took it only (it relays to the others).
      this.deliveries.record(channel, (this.redis as { isCluster?: boolean }).isCluster ? undefined : receivers);
      return receivers;
    } catch (error) {
      recordMessageFailure(span, error);
      throw error;
    } finally {
      endMessageSpan(span);
    }
  }

  private async send(channel: string, message: string, { deadline, clockSkewAllowanceMs = DEFAULT_CLOCK_SKEW_ALLOWANCE_MS }: RawPublishOptions): Promise<number> {
    if (!deadline) return this.redis.publish(channel, message);
    const runBy = deadline.getTime() - clockSkewAllowanceMs;
    return Number(await this.redis.eval(PUBLISH_BEFORE_SCRIPT, 0, channel, message, String(runBy)));
  }

  /**
   * A lazy connection connects on first use: outside the caller's trace, whose publish span would otherwise show
   * the connection's own commands (CLIENT SETNAME, INFO, …). A failed attempt is retried by ioredis; the publish
   * then waits in its offline queue and fails there if Redis stays away.
   */
  private connectOutsideTraces(): Promise<unknown> {
    this.connected ??=
      this.redis.status === 'wait'
        ? otelContext.with(ROOT_CONTEXT, () => this.redis.connect()).catch(() => undefined)
        : Promise.resolve();
    return this.connected;
  }
}
