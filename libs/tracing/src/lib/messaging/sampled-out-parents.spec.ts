/*
 * Why this suite exists: at 0 % sampling every message still pays for its two spans. Where the app declares its
 * sampler parent-based (the SDK bootstrap does, from OTEL_TRACES_SAMPLER), the spans under a sampled-out parent are
 * made without the SDK. That is only right if the result is what the SDK would have made (same trace, sampled out,
 * trace state kept, a new span id) and if the sampler is still asked everywhere else: a sampled parent, no parent,
 * or no declaration. A real SDK with a sampler that counts the questions it is asked; no Redis.
 */
import { type Attributes, type Context, type Link, ROOT_CONTEXT, type SpanKind, TraceFlags, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  type Sampler,
  type SamplingResult,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { injectTraceCarrier } from '../propagation/message-carrier';
import { endMessageSpan, MessageSpans } from './message-spans';
import { declareParentBasedSampling } from './sampled-out-parents';

/** The SDK's parent-based sampler (root: ratio `rootRatio`), counting the spans it is asked about. */
class CountingSampler implements Sampler {
  questions = 0;
  constructor(private readonly inner: Sampler) {}
  shouldSample(parent: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    this.questions++;
    return this.inner.shouldSample(parent, traceId, name, kind, attributes, links);
  }
  toString(): string {
    return `Counting(${this.inner.toString()})`;
  }
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const exporter = new InMemorySpanExporter();
const sampler = new CountingSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(1) }));
const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(async () => {
  declareParentBasedSampling(false);
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});
beforeEach(() => {
  sampler.questions = 0;
  exporter.reset();
});
afterEach(() => declareParentBasedSampling(false));

const facts = { destination: 'orders.created', messageId: 'm-1' };
const carrier = (flags: '00' | '01', tracestate?: string) => ({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-${flags}`, ...(tracestate && { tracestate }) });
const localParent = (traceFlags: TraceFlags) => trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: PARENT_ID, traceFlags });

describe('spans under a sampled-out parent, sampling declared parent-based', () => {
  beforeEach(() => declareParentBasedSampling(true));

  it('a CONSUMER span: the producer\'s trace, sampled out, its trace state, a new span id; the sampler is not asked', () => {
    const { span, context: handlerContext } = new MessageSpans().startConsumer(carrier('00', 'vendor=a,other=b'), facts);
    const made = span.spanContext();

    expect(span.isRecording()).toBe(false);
    expect(made.traceId).toBe(TRACE_ID);
    expect(made.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(made.spanId).not.toBe(PARENT_ID);
    expect(made.spanId).not.toBe('0000000000000000');
    expect(made.traceFlags).toBe(TraceFlags.NONE);
    expect(made.traceState?.serialize()).toBe('vendor=a,other=b');
    expect(sampler.questions).toBe(0);
    // The handler's own messages carry the trace on, still sampled out.
    expect(injectTraceCarrier(handlerContext)).toStrictEqual({ traceparent: `00-${TRACE_ID}-${made.spanId}-00`, tracestate: 'vendor=a,other=b' });
    endMessageSpan(span);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('a PRODUCER span under a local sampled-out span: the same, and nothing exported', () => {
    const span = new MessageSpans().startProducer(localParent(TraceFlags.NONE), facts);

    expect(span.isRecording()).toBe(false);
    expect(span.spanContext()).toMatchObject({ traceId: TRACE_ID, traceFlags: TraceFlags.NONE });
    expect(sampler.questions).toBe(0);
    endMessageSpan(span);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('what the SDK would have made: same trace, flags and trace state, not recording', () => {
    const parent = propagation.extract(ROOT_CONTEXT, carrier('00', 'vendor=a'));
    const ours = new MessageSpans().startConsumer(carrier('00', 'vendor=a'), facts).span.spanContext();
    const sdk = trace.getTracer('spec').startSpan('process orders.created', {}, parent);

    const theirs = sdk.spanContext();

    expect(sdk.isRecording()).toBe(false);
    expect([ours.traceId, ours.traceFlags, ours.traceState?.serialize()]).toStrictEqual([theirs.traceId, theirs.traceFlags, theirs.traceState?.serialize()]);
  });

  it('a sampled parent still goes to the SDK: recorded, exported, child of the producer', () => {
    const { span } = new MessageSpans().startConsumer(carrier('01'), facts);
    endMessageSpan(span);

    expect(sampler.questions).toBe(1);
    const [exported] = exporter.getFinishedSpans();
    expect(exported?.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(exported?.spanContext().traceId).toBe(TRACE_ID);
  });

  it('no parent (a new trace) still goes to the SDK, whose root sampler decides', () => {
    const span = new MessageSpans().startProducer(ROOT_CONTEXT, facts);
    endMessageSpan(span);

    expect(sampler.questions).toBe(1);
    expect(exporter.getFinishedSpans()).toHaveLength(1);
  });

  it('in link mode the CONSUMER span has no parent: the SDK decides, with the producer as a link', () => {
    const { span } = new MessageSpans({ parentMode: 'link' }).startConsumer(carrier('00'), facts);
    endMessageSpan(span);

    expect(sampler.questions).toBe(1);
    expect(exporter.getFinishedSpans()[0]?.links[0]?.context.spanId).toBe(PARENT_ID);
  });
});

describe('without the declaration', () => {
  it('the SDK is asked about every span, a sampled-out parent\'s too', () => {
    const { span } = new MessageSpans().startConsumer(carrier('00'), facts);
    const producer = new MessageSpans().startProducer(localParent(TraceFlags.NONE), facts);

    expect(sampler.questions).toBe(2);
    expect(span.isRecording()).toBe(false);
    expect(producer.isRecording()).toBe(false);
  });
});
