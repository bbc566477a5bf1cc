import { type Context, ROOT_CONTEXT, defaultTextMapGetter, propagation, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { EdgeContextPropagator, type IncomingContextPolicy, untrustedParentOf } from './edge-context';
import { untrustedCarrierGetter } from './message-carrier';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const HEADERS = { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, baggage: 'tenant=acme,user.id=42,secret=s3' };

const w3c = () => new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
const edge = (policy: IncomingContextPolicy, allow: string[] = []) => new EdgeContextPropagator(w3c(), policy, new Set(allow));
const baggageKeys = (context: Context) => propagation.getBaggage(context)?.getAllEntries().map(([key]) => key) ?? [];

describe('EdgeContextPropagator (incoming HTTP context at the edge)', () => {
  it('trust: continues the caller’s trace', () => {
    const context = edge('trust').extract(ROOT_CONTEXT, HEADERS, defaultTextMapGetter);
    expect(trace.getSpanContext(context)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    expect(untrustedParentOf(context)).toBeUndefined();
  });

  it('link: no parent (our sampler decides), the caller’s span kept for a link', () => {
    const context = edge('link').extract(ROOT_CONTEXT, HEADERS, defaultTextMapGetter);
    expect(trace.getSpanContext(context)).toBeUndefined();
    expect(untrustedParentOf(context)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID });
  });

  it('ignore: neither parent nor link', () => {
    const context = edge('ignore').extract(ROOT_CONTEXT, HEADERS, defaultTextMapGetter);
    expect(trace.getSpanContext(context)).toBeUndefined();
    expect(untrustedParentOf(context)).toBeUndefined();
  });

  it('drops incoming baggage unless allowlisted, in every mode', () => {
    for (const policy of ['trust', 'link', 'ignore'] as const) {
      expect(baggageKeys(edge(policy).extract(ROOT_CONTEXT, HEADERS, defaultTextMapGetter))).toEqual([]);
      expect(baggageKeys(edge(policy, ['tenant', 'user.id']).extract(ROOT_CONTEXT, HEADERS, defaultTextMapGetter))).toEqual([
        'tenant',
        'user.id',
      ]);
    }
  });

  it('leaves context read from messages to the consumer’s own parent mode, baggage included', () => {
    const context = edge('ignore').extract(ROOT_CONTEXT, HEADERS, untrustedCarrierGetter);
    expect(trace.getSpanContext(context)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID });
    expect(baggageKeys(context)).toEqual(['tenant', 'user.id', 'secret']);
  });

  it('a malformed traceparent gives nothing to trust or link', () => {
    for (const policy of ['trust', 'link'] as const) {
      const context = edge(policy).extract(ROOT_CONTEXT, { traceparent: `ff-${TRACE_ID}-${SPAN_ID}-01` }, defaultTextMapGetter);
      expect(trace.getSpanContext(context)).toBeUndefined();
      expect(untrustedParentOf(context)).toBeUndefined();
    }
  });

  it('injects as the wrapped propagator does, and lists its fields', () => {
    const span = trace.wrapSpanContext({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
    const carrier: Record<string, string> = {};
    edge('ignore').inject(trace.setSpan(ROOT_CONTEXT, span), carrier, { set: (c, k, v) => ((c as Record<string, string>)[k] = v) });
    expect(carrier).toEqual({ traceparent: HEADERS.traceparent });
    expect(edge('link').fields()).toEqual(w3c().fields());
  });
});

describe('tracestate at the edge (W3C strict: a tracestate that breaks the grammar is dropped whole)', () => {
  const traceparent = HEADERS.traceparent;
  const traceStateOf = (headers: Record<string, string | string[]>) =>
    trace.getSpanContext(edge('trust').extract(ROOT_CONTEXT, headers, defaultTextMapGetter))?.traceState?.serialize();

  it('keeps a well-formed tracestate, members in order', () => {
    expect(traceStateOf({ traceparent, tracestate: 'foo=1 , bar=2' })).toBe('foo=1,bar=2');
  });

  it.each([
    ['a key of 257 characters beside a valid member', `foo=1, ${'z'.repeat(257)}=1`],
    ['33 members', Array.from({ length: 33 }, (_, index) => `k${index}=v`).join(',')],
    ['a key that starts with @ beside a valid member', '@foo=1,bar=2'],
    ['a value holding a tab', 'foo=a\tb,bar=2'],
  ])('drops a tracestate with %s, and still continues the trace', (_, tracestate) => {
    const context = edge('trust').extract(ROOT_CONTEXT, { traceparent, tracestate }, defaultTextMapGetter);
    expect(trace.getSpanContext(context)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID });
    expect(trace.getSpanContext(context)?.traceState).toBeUndefined();
  });

  it('checks repeated header lines as one list, and keeps a key repeated across lines once (the first)', () => {
    expect(traceStateOf({ traceparent, tracestate: ['foo=1', 'bar=2'] })).toBe('foo=1,bar=2');
    expect(traceStateOf({ traceparent, tracestate: ['foo=1', 'foo=2'] })).toBe('foo=1');
  });

  it("keeps keys of the draft grammar that OpenTelemetry's Level 1 TraceState drops (foo@, a 242-character tenant)", () => {
    expect(traceStateOf({ traceparent, tracestate: `foo@=1,${'t'.repeat(242)}@v=2` })).toBe(`foo@=1,${'t'.repeat(242)}@v=2`);
  });

  it('applies to the link policy too: the linked span context carries no malformed tracestate', () => {
    const context = edge('link').extract(ROOT_CONTEXT, { traceparent, tracestate: '@foo=1,bar=2' }, defaultTextMapGetter);
    expect(untrustedParentOf(context)).toMatchObject({ traceId: TRACE_ID });
    expect(untrustedParentOf(context)?.traceState).toBeUndefined();
  });
});

describe('telling message carriers from HTTP headers', () => {
  it('recognises a message getter from another copy of this module (the SDK bootstrap is its own bundle)', () => {
    const copy = { ...untrustedCarrierGetter };
    const context = edge('ignore').extract(ROOT_CONTEXT, HEADERS, copy);
    expect(trace.getSpanContext(context)).toMatchObject({ traceId: TRACE_ID });
  });
});
