import { trace } from '@opentelemetry/api';

/** The fields that tie a log line to its trace, as the OpenTelemetry log data model names them. */
export interface TraceLogFields {
  trace_id?: string;
  span_id?: string;
  trace_flags?: string;
}

/**
 * `trace_id`, `span_id` and `trace_flags` of the span active where a line is logged, or nothing outside a span.
 * A pino `mixin`: called for every line, so it allocates only when there is a span.
 */
export function traceLogFields(): TraceLogFields {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: traceFlags.toString(16).padStart(2, '0') };
}
