import { trace } from '@opentelemetry/api';
import { useInMemoryTracing } from '../../test/in-memory-tracing';
import { traceLogFields } from './trace-log-fields';

useInMemoryTracing();

describe('traceLogFields (the log mixin)', () => {
  it('gives the ids and flags of the active span', () => {
    trace.getTracer('test').startActiveSpan('work', (span) => {
      const { traceId, spanId } = span.spanContext();
      expect(traceLogFields()).toEqual({ trace_id: traceId, span_id: spanId, trace_flags: '01' });
      span.end();
    });
  });

  it('gives nothing outside a span', () => {
    expect(traceLogFields()).toEqual({});
  });
});
