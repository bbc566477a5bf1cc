import { ROOT_CONTEXT, context as otelContext, trace } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { DeliveryAccounting } from '../client/delivery-accounting';
import { MessageSpans, recordEnvelopeSize, recordMessageFailure, endMessageSpan } from '../messaging/message-spans';
import { UNTRACED_CONTEXT } from '../messaging/untraced-context';
import { injectTraceCarrier } from '../propagation/message-carrier';
import type { MessagingTracingOptions } from '../types';

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

  /** Publishes `payload` plus the trace context on `channel`; resolves with the number of subscribers reached. */
  async publish(channel: string, payload: Record<string, unknown>): Promise<number> {
    await this.connectOutsideTraces();
    const parent = otelContext.active();
    const span = this.messageSpans.startProducer(parent, { destination: channel, data: payload });
    const spanContext = trace.setSpan(parent, span);
    try {
      const message = JSON.stringify({ ...payload, ...injectTraceCarrier(spanContext) });
      recordEnvelopeSize(span, message);
      // The PRODUCER span is this publish: no ioredis span under it.
      const receivers = await otelContext.with(UNTRACED_CONTEXT, () => this.redis.publish(channel, message));
      this.deliveries.record(channel, receivers);
      return receivers;
    } catch (error) {
      recordMessageFailure(span, error);
      throw error;
    } finally {
      endMessageSpan(span);
    }
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
