import { waitUntil } from './wait-until';
import { EventEmitter } from 'node:events';
import { type Context, type SpanContext, SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

const DEFAULT_WAIT_MS = 5_000;

/**
 * A `SimpleSpanProcessor` into an in-memory exporter that says when an ended span has reached the exporter, so
 * that a test awaits that event instead of sleeping.
 */
class NotifyingSpanProcessor implements SpanProcessor {
  readonly exported = new EventEmitter();
  private readonly inner: SimpleSpanProcessor;

  constructor(exporter: InMemorySpanExporter) {
    this.inner = new SimpleSpanProcessor(exporter);
  }

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.inner.onEnd(span);
    void this.inner.forceFlush().then(() => this.exported.emit('span'));
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** The spans the code under test ended, and ways to wait for them. */
export interface InMemoryTracing {
  readonly exporter: InMemorySpanExporter;
  /** The spans ended (and exported) since the last reset. */
  spans(): ReadableSpan[];
  /**
   * Resolves with what `select` returns once it returns something truthy, re-evaluated each time a span is
   * exported; rejects after `timeoutMs` listing the spans that did arrive.
   */
  waitForSpans<T>(select: (spans: ReadableSpan[]) => T | undefined | false, timeoutMs?: number): Promise<T>;
  /** The first ended span matching `where`, as soon as it has been exported. */
  waitForSpan(where: (span: ReadableSpan) => boolean, timeoutMs?: number): Promise<ReadableSpan>;
}

/**
 * Registers, for the current test file, the global tracer provider (`BasicTracerProvider` with a
 * `SimpleSpanProcessor` into an `InMemorySpanExporter`), the `AsyncLocalStorageContextManager` and the W3C
 * trace-context + baggage propagators: what the SDK bootstrap registers in production, minus the OTLP export.
 * The exporter is reset after each test; everything is unregistered after the file.
 */
export function useInMemoryTracing(): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const processor = new NotifyingSpanProcessor(exporter);
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const contextManager = new AsyncLocalStorageContextManager();

  beforeAll(() => {
    contextManager.enable();
    expect(context.setGlobalContextManager(contextManager)).toBe(true);
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    expect(
      propagation.setGlobalPropagator(
        new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
      ),
    ).toBe(true);
  });

  afterEach(() => exporter.reset());

  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  const spans = () => exporter.getFinishedSpans();

  const waitForSpans = <T>(select: (spans: ReadableSpan[]) => T | undefined | false, timeoutMs = DEFAULT_WAIT_MS) =>
    waitUntil(processor.exported, 'span', () => select(spans()), {
      timeoutMs,
      what: 'The awaited spans',
      describeState: () => `ended spans:\n  ${describeSpans(spans())}`,
    });

  return {
    exporter,
    spans,
    waitForSpans,
    waitForSpan: (where, timeoutMs) => waitForSpans((ended) => ended.find(where), timeoutMs),
  };
}

export const spanIdOf = (span: ReadableSpan): string => span.spanContext().spanId;
export const traceIdOf = (span: ReadableSpan): string => span.spanContext().traceId;
export const parentSpanIdOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

/** The `traceparent` the W3C propagator writes for `spanContext` (sampled). */
export function traceparentOf(spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-0${spanContext.traceFlags.toString(16)}`;
}

/** The spans, one a line with kind, ids and parent, for failure messages. */
export function describeSpans(spans: readonly ReadableSpan[]): string {
  if (spans.length === 0) return '(none)';
  return spans
    .map((span) => {
      const ids = `trace=${traceIdOf(span)} span=${spanIdOf(span)} parent=${parentSpanIdOf(span) ?? '-'}`;
      return `${SpanKind[span.kind]} ${span.name} ${ids}`;
    })
    .join('\n  ');
}
