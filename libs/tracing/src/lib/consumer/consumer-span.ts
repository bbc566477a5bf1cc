import { Logger } from '@nestjs/common';
import { type Context, context as otelContext } from '@opentelemetry/api';
import { endMessageSpan, type MessageFacts, type MessageSpans, recordMessageFailure } from '../messaging/message-spans';

/** The CONSUMER span of one message being handled. */
export interface ConsumerSpan {
  /** The context to run the handler in: the span's (or, if tracing failed, the active one). */
  readonly context: Context;
  /** Records a failure on the span; the first recorded wins. */
  fail(error: unknown): void;
  /** Ends the span (once) and records the message in the metrics. */
  end(): void;
}

const logger = new Logger('MessageSpans');
const untraced = (context: Context): ConsumerSpan => ({ context, fail: () => undefined, end: () => undefined });

/**
 * Starts `process <destination>` for a message whose trace context is `carrier`: where both transports start their
 * CONSUMER spans. Never throws: tracing must never cost the application its message, so a span that cannot be
 * started is logged and the message handled untraced.
 */
export function startConsumerSpan(spans: MessageSpans, carrier: unknown, facts: MessageFacts): ConsumerSpan {
  try {
    const { span, context } = spans.startConsumer(carrier, facts);
    return { context, fail: (error) => recordMessageFailure(span, error), end: () => endMessageSpan(span) };
  } catch (error) {
    logger.warn(`Could not start a consumer span on "${facts.destination}": ${String(error)}`);
    return untraced(otelContext.active());
  }
}
