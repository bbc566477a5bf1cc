import { ROOT_CONTEXT, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { injectTraceCarrier, untrustedCarrierGetter } from '@nest-redis-otel/tracing';

/** Microseconds per inject + extract of one message's context (the W3C propagators the SDK uses), and bytes added. */
export function measureContextHop(iterations: number): { microsecondsPerHop: number; bytesAdded: number } {
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const context = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
  });
  const hop = () => propagation.extract(ROOT_CONTEXT, injectTraceCarrier(context), untrustedCarrierGetter);
  for (let warm = 0; warm < 10_000; warm++) hop();
  const started = process.hrtime.bigint();
  let check = 0;
  for (let index = 0; index < iterations; index++) if (trace.getSpanContext(hop())) check++;
  const elapsedNs = Number(process.hrtime.bigint() - started);
  if (check !== iterations) throw new Error('extraction failed');
  const packet = { pattern: 'item.created', data: { id: '00000000-0000-4000-8000-000000000001', name: 'Blue mug', price: 12.5, requestId: 'c0a8012e-7f3c-4d5e-9a1b-2c3d4e5f6a7b' } };
  const bytesAdded = Buffer.byteLength(JSON.stringify({ ...packet, metadata: injectTraceCarrier(context) })) - Buffer.byteLength(JSON.stringify(packet));
  return { microsecondsPerHop: elapsedNs / iterations / 1000, bytesAdded };
}
