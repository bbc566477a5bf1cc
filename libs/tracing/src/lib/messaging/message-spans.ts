import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type Tracer,
  type TracerProvider,
  SpanStatusCode,
  propagation,
  trace,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { DEFAULT_PAYLOAD_FIELD_MAX_LENGTH, PAYLOAD_ATTRIBUTE_PREFIX, TRACER_NAME, TRACER_VERSION } from '../constants';
import { untrustedCarrierGetter } from '../propagation/message-carrier';
import { withW3CTraceState } from '../propagation/tracestate-header';
import { recordMessageOperation } from './messaging-metrics';
import { spanUnderSampledOutParent } from './sampled-out-parents';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ENVELOPE_SIZE,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_PROCESS,
  MESSAGING_OPERATION_TYPE_SEND,
  MESSAGING_SYSTEM_REDIS,
} from '../semconv';
import type { MessagingTracingOptions, PayloadCaptureOptions } from '../types';

/** What is known of one message when its span starts. */
export interface MessageFacts {
  destination: string;
  data?: unknown;
  messageId?: string;
  /** Bytes of the message as it travels (envelope, data and trace context), when the transport knows them. */
  envelopeBytes?: number;
  /** More attributes of the transport (e.g. a redelivery count), set when the span starts. */
  attributes?: Attributes;
}

/**
 * Spans this library started, so that hooks never decorate somebody else's span by mistake, with what their
 * metrics need when they end.
 */
const ownSpans = new WeakMap<Span, { operation: 'send' | 'process'; destination: string; startedAt: number }>();
/** The `error.type` of spans whose failure was already recorded (first by the most precise caller). */
const failedSpans = new WeakMap<Span, string>();

/** Creates the PRODUCER and CONSUMER spans of messages, following the messaging semantic conventions. */
export class MessageSpans {
  private readonly parentMode: NonNullable<MessagingTracingOptions['parentMode']>;
  private readonly payloadCapture?: Required<PayloadCaptureOptions>;

  constructor(options: MessagingTracingOptions = {}) {
    this.parentMode = options.parentMode ?? 'parent';
    const fields = options.payloadCapture?.fields ?? [];
    if (fields.length > 0) {
      this.payloadCapture = {
        fields: [...fields],
        maxLength: options.payloadCapture?.maxLength ?? DEFAULT_PAYLOAD_FIELD_MAX_LENGTH,
      };
    }
  }

  /** Starts `send <destination>`, a PRODUCER span child of `parent`. */
  startProducer(parent: Context, message: MessageFacts): Span {
    const span =
      spanUnderSampledOutParent(parent) ??
      tracer().startSpan(
        `${MESSAGING_OPERATION_TYPE_SEND} ${message.destination}`,
        { kind: SpanKind.PRODUCER, attributes: this.messageAttributes(MESSAGING_OPERATION_TYPE_SEND, message) },
        parent,
      );
    this.addPayloadAttributes(span, message.data);
    ownSpans.set(span, { operation: MESSAGING_OPERATION_TYPE_SEND, destination: message.destination, startedAt: performance.now() });
    return span;
  }

  /**
   * Starts `process <destination>`, a CONSUMER span whose parent (or link, in `link` mode) is the producer span
   * found in `carrier`. Returns the span and the context to run the handler in. Invalid or missing context gives
   * a new root span.
   */
  startConsumer(carrier: unknown, message: MessageFacts): { span: Span; context: Context } {
    // The tracestate as the W3C grammar reads it, whatever TraceState the installed propagator builds.
    const producerContext = withW3CTraceState(
      propagation.extract(ROOT_CONTEXT, carrier, untrustedCarrierGetter),
      untrustedCarrierGetter.get(carrier, 'tracestate'),
    );
    const producerSpan = trace.getSpanContext(producerContext);
    const links: Link[] = [];
    let parent = producerContext;
    if (this.parentMode === 'link') {
      parent = trace.deleteSpan(producerContext);
      if (producerSpan && trace.isSpanContextValid(producerSpan)) links.push({ context: producerSpan });
    }
    const span =
      spanUnderSampledOutParent(parent) ??
      tracer().startSpan(
        `${MESSAGING_OPERATION_TYPE_PROCESS} ${message.destination}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: this.messageAttributes(MESSAGING_OPERATION_TYPE_PROCESS, message),
          links,
        },
        parent,
      );
    this.addPayloadAttributes(span, message.data);
    ownSpans.set(span, { operation: MESSAGING_OPERATION_TYPE_PROCESS, destination: message.destination, startedAt: performance.now() });
    return { span, context: trace.setSpan(parent, span) };
  }

  private messageAttributes(operation: string, message: MessageFacts): Attributes {
    const attributes: Attributes = {
      [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_REDIS,
      [ATTR_MESSAGING_DESTINATION_NAME]: message.destination,
      [ATTR_MESSAGING_OPERATION_TYPE]: operation,
      [ATTR_MESSAGING_OPERATION_NAME]: operation,
    };
    if (message.messageId !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = message.messageId;
    if (message.envelopeBytes !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ENVELOPE_SIZE] = message.envelopeBytes;
    if (message.attributes) Object.assign(attributes, message.attributes);
    return attributes;
  }

  /** Captured payload fields, for recorded spans only. */
  private addPayloadAttributes(span: Span, data: unknown): void {
    if (!this.payloadCapture || typeof data !== 'object' || data === null || Array.isArray(data) || !span.isRecording()) return;
    const attributes: Attributes = {};
    const record = data as Record<string, unknown>;
    for (const field of this.payloadCapture.fields) {
      if (!Object.hasOwn(record, field)) continue;
      const value = record[field];
      if (typeof value === 'string') {
        attributes[PAYLOAD_ATTRIBUTE_PREFIX + field] = value.slice(0, this.payloadCapture.maxLength);
      } else if (typeof value === 'number' || typeof value === 'boolean') {
        attributes[PAYLOAD_ATTRIBUTE_PREFIX + field] = value;
      }
    }
    span.setAttributes(attributes);
  }
}

/** Whether `span` is a messaging span this library started. */
export function isMessageSpan(span: Span | undefined): span is Span {
  return span !== undefined && ownSpans.has(span);
}

/**
 * Records a failure on `span` once: the exception as an event, `error.type`, and ERROR status. Later calls for
 * the same span are ignored, so the most precise caller (the one that sees the original exception) wins.
 */
export function recordMessageFailure(span: Span, error: unknown): void {
  if (failedSpans.has(span)) return;
  const { type, message } = describeError(error);
  failedSpans.set(span, type);
  if (error instanceof Error) span.recordException(error);
  else span.recordException({ name: type, message });
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Ends a messaging span (once; later calls do nothing) and records its operation in the messaging metrics: count,
 * duration, and `error.type` when it failed. Also for spans that are not sampled: metrics see every message.
 */
export function endMessageSpan(span: Span): void {
  const started = ownSpans.get(span);
  if (!started) return;
  ownSpans.delete(span);
  const seconds = (performance.now() - started.startedAt) / 1000;
  span.end();
  recordMessageOperation(started.operation, started.destination, seconds, failedSpans.get(span));
}

/**
 * Ends a messaging span once, failed if `error` is given (a producer's end, on whichever of reply, error or
 * unsubscription comes first): after the first call the span is no longer this library's, and later calls do nothing.
 */
export function finishMessageSpan(span: Span, error?: unknown): void {
  if (!isMessageSpan(span)) return;
  if (error !== undefined) recordMessageFailure(span, error);
  endMessageSpan(span);
}

/** A name and a message for anything that can be thrown or sent as an RPC error. */
export function describeError(error: unknown): { type: string; message: string } {
  if (error instanceof Error) {
    const type = error.name && error.name !== 'Error' ? error.name : error.constructor?.name || 'Error';
    return { type, message: error.message };
  }
  if (typeof error === 'object' && error !== null) {
    const record = error as Record<string, unknown>;
    const message = typeof record['message'] === 'string' ? record['message'] : safeJson(error);
    const code = record['code'] ?? record['name'] ?? record['status'];
    return { type: typeof code === 'string' && code.length > 0 ? code : 'RpcError', message };
  }
  return { type: typeof error, message: String(error) };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}


/**
 * Sets the size of the message as it travels on a span of this library, if recorded: the transport knows it once
 * it has serialized (producer) or received (consumer) the message, so no second serialization is needed.
 */
export function recordEnvelopeSize(span: Span | undefined, message: string): void {
  if (isMessageSpan(span) && span.isRecording()) span.setAttribute(ATTR_MESSAGING_MESSAGE_ENVELOPE_SIZE, Buffer.byteLength(message));
}

let cachedTracer: { provider: TracerProvider; tracer: Tracer } | undefined;
/**
 * This library's tracer, looked up again only when the global provider changes (`trace.disable()` in tests): the
 * SDK's `getTracer` builds a key and searches a map on every call, a measurable cost per message.
 */
function tracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (cachedTracer?.provider !== provider) cachedTracer = { provider, tracer: provider.getTracer(TRACER_NAME, TRACER_VERSION) };
  return cachedTracer.tracer;
}
