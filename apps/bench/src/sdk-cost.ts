// What the OpenTelemetry JS SDK itself costs, in this process, with no Redis, no Nest and no code of ours: the floor
// under any instrumentation that makes a given number of spans per message. Same SDK packages and versions as the
// apps' bootstrap (BatchSpanProcessor, parent-based sampler, AsyncLocalStorage context manager, OTLP protobuf).
import { ROOT_CONTEXT, type Context, context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, ExportResultCode, type ExportResult, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { declareParentBasedSampling, injectTraceCarrier } from '@nest-redis-otel/tracing';
import { endMessageSpan, MessageSpans, startConsumerSpan } from '@nest-redis-otel/tracing/internal';

export interface SdkCost {
  /** Start + end of a sampled span with the attributes of a message span, batched and serialized to OTLP protobuf. */
  microsecondsPerSampledSpan: number;
  /** The same span, not sampled (parent-based, ratio 0): what every message pays at 0 %. */
  microsecondsPerUnsampledSpan: number;
  /** One `context.with` through the AsyncLocalStorage context manager, an await inside. */
  microsecondsPerContextWith: number;
  /** Bytes of OTLP protobuf per span, for the export's network cost. */
  otlpBytesPerSpan: number;
  /**
   * One message's tracing at 0 %, both sides, in a tight loop: by hand with the SDK's calls (PRODUCER span, inject,
   * extract, CONSUMER span, `context.with`, both ended), and through this library's own functions (the transports'
   * `startProducer`, `injectTraceCarrier`, `startConsumerSpan`, `endMessageSpan`), sampling declared parent-based as
   * the SDK bootstrap declares it. What our code adds over the SDK's calls, with nothing else in the loop.
   */
  unsampledMessage: { sdkMicroseconds: number; oursMicroseconds: number };
}

/** Serializes each batch as the OTLP exporter does before sending it; sends nothing. */
class SerializingExporter implements SpanExporter {
  bytes = 0;
  spans = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.bytes += ProtobufTraceSerializer.serializeRequest(spans)?.byteLength ?? 0;
    this.spans += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {
    return undefined;
  }
}

const ATTRIBUTES = {
  'messaging.system': 'redis',
  'messaging.destination.name': 'item.created',
  'messaging.operation.type': 'send',
  'messaging.operation.name': 'send',
  'messaging.message.envelope.size': 221,
};

async function spanCost(ratio: number, spans: number): Promise<{ microseconds: number; exporter: SerializingExporter }> {
  const exporter = new SerializingExporter();
  const provider = new BasicTracerProvider({
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
    // The SDK's defaults (OTEL_BSP_*), except a queue that never drops: every span must be paid for.
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: spans + 1 })],
  });
  const tracer = provider.getTracer('sdk-cost');
  const run = (count: number) => {
    for (let index = 0; index < count; index++) {
      tracer.startSpan('send item.created', { kind: SpanKind.PRODUCER, attributes: ATTRIBUTES }, ROOT_CONTEXT).end();
    }
  };
  run(Math.min(10_000, spans)); // warm-up
  await provider.forceFlush();
  exporter.bytes = 0;
  exporter.spans = 0;
  const started = process.hrtime.bigint();
  run(spans);
  await provider.forceFlush();
  const elapsedNs = Number(process.hrtime.bigint() - started);
  await provider.shutdown();
  return { microseconds: elapsedNs / spans / 1000, exporter };
}

async function contextWithCost(iterations: number): Promise<number> {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  const key = Symbol('bench');
  const inner: Context = ROOT_CONTEXT.setValue(key, 1);
  const step = () => context.with(inner, async () => (await Promise.resolve(context.active().getValue(key))) as number);
  for (let warm = 0; warm < 10_000; warm++) await step();
  let check = 0;
  const started = process.hrtime.bigint();
  for (let index = 0; index < iterations; index++) check += await step();
  const elapsedNs = Number(process.hrtime.bigint() - started);
  context.disable();
  if (check !== iterations) throw new Error('context was not propagated');
  // The same loop without the context manager, subtracted: what `with` adds, not what an await costs.
  const bare = async () => (await Promise.resolve(1)) as number;
  const bareStarted = process.hrtime.bigint();
  for (let index = 0; index < iterations; index++) check += await bare();
  const bareNs = Number(process.hrtime.bigint() - bareStarted);
  return Math.max(0, elapsedNs - bareNs) / iterations / 1000;
}

async function unsampledMessageCost(iterations: number): Promise<SdkCost['unsampledMessage']> {
  const provider = new BasicTracerProvider({ sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) }) });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  declareParentBasedSampling(true);
  const tracer = provider.getTracer('sdk-cost');
  const node = { 'server.address': '127.0.0.1', 'server.port': 6379 };
  const data = { id: '00000000-0000-4000-8000-000000000001', name: 'Blue mug', price: 12.5 };
  let handled = 0;
  const byHand = () => {
    const producer = tracer.startSpan('send item.created', { kind: SpanKind.PRODUCER, attributes: { ...ATTRIBUTES, ...node } }, ROOT_CONTEXT);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, producer), carrier);
    producer.end();
    const parent = propagation.extract(ROOT_CONTEXT, carrier);
    const consumer = tracer.startSpan('process item.created', { kind: SpanKind.CONSUMER, attributes: { ...ATTRIBUTES, ...node } }, parent);
    context.with(trace.setSpan(parent, consumer), () => handled++);
    consumer.end();
  };
  const spans = new MessageSpans();
  const ours = () => {
    const producer = spans.startProducer(ROOT_CONTEXT, { destination: 'item.created', data, attributes: node });
    const carrier = injectTraceCarrier(trace.setSpan(ROOT_CONTEXT, producer));
    endMessageSpan(producer);
    const consumer = startConsumerSpan(spans, carrier, { destination: 'item.created', data, envelopeBytes: 221, attributes: node });
    context.with(consumer.context, () => handled++);
    consumer.end();
  };
  const time = (step: () => void) => {
    for (let warm = 0; warm < 10_000; warm++) step();
    const started = process.hrtime.bigint();
    for (let index = 0; index < iterations; index++) step();
    return Number(process.hrtime.bigint() - started) / iterations / 1000;
  };
  // Interleaved, twice each, the better of each kept: the two differ by a few µs, the machine's pace by more.
  const first = [time(byHand), time(ours)];
  const second = [time(byHand), time(ours)];
  const [sdkMicroseconds, oursMicroseconds] = [Math.min(first[0], second[0]), Math.min(first[1], second[1])];
  declareParentBasedSampling(false);
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
  if (handled !== 4 * (10_000 + iterations)) throw new Error('a handler did not run');
  return { sdkMicroseconds, oursMicroseconds };
}

/** Measures the SDK's own costs with `spans` spans per variant. */
export async function measureSdkCost(spans: number): Promise<SdkCost> {
  const sampled = await spanCost(1, spans);
  if (sampled.exporter.spans !== spans) throw new Error(`exported ${sampled.exporter.spans} of ${spans} spans`);
  const unsampled = await spanCost(0, spans);
  if (unsampled.exporter.spans !== 0) throw new Error('unsampled spans were exported');
  trace.disable();
  return {
    microsecondsPerSampledSpan: sampled.microseconds,
    microsecondsPerUnsampledSpan: unsampled.microseconds,
    microsecondsPerContextWith: await contextWithCost(spans),
    otlpBytesPerSpan: sampled.exporter.bytes / sampled.exporter.spans,
    unsampledMessage: await unsampledMessageCost(spans),
  };
}
