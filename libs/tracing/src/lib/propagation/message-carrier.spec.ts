/*
 * Why this suite exists: a message's trace context comes from anyone who can PUBLISH on the channel. These tests feed
 * the extraction path (the untrusted getter, then the W3C propagators, then a consumer span) what a careless or
 * hostile publisher could send, and check that the worst outcome is a consumer span that starts a new trace.
 */
import {
  ROOT_CONTEXT,
  type SpanContext,
  TraceFlags,
  context,
  propagation,
  trace,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { parentSpanIdOf, spanIdOf, traceIdOf, useInMemoryTracing } from '../../test/in-memory-tracing';
import { MessageSpans } from '../messaging/message-spans';
import { injectTraceCarrier, traceCarrierFromTopLevel, untrustedCarrierGetter } from './message-carrier';

const tracing = useInMemoryTracing();

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

/** The consumer span (ended and exported) that `MessageSpans` starts for a message carrying `carrier`. */
function consumerSpanFor(carrier: unknown, parentMode: 'parent' | 'link' = 'parent'): ReadableSpan {
  const { span } = new MessageSpans({ parentMode }).startConsumer(carrier, { destination: 'untrusted' });
  span.end();
  const exported = tracing.spans().find((candidate) => spanIdOf(candidate) === span.spanContext().spanId);
  if (!exported) throw new Error('the consumer span was not exported');
  return exported;
}

function expectNewRootSpan(span: ReadableSpan): void {
  expect(trace.isSpanContextValid(span.spanContext())).toBe(true);
  expect(span.parentSpanContext).toBeUndefined();
  expect(span.links).toEqual([]);
  expect(traceIdOf(span)).not.toBe(TRACE_ID);
}

function expectChildOfCarriedSpan(span: ReadableSpan): void {
  expect(traceIdOf(span)).toBe(TRACE_ID);
  expect(parentSpanIdOf(span)).toBe(SPAN_ID);
}

describe('injectTraceCarrier', () => {
  const spanContext: SpanContext = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED };

  it("writes the context's span as a W3C traceparent", () => {
    const carrier = injectTraceCarrier(trace.setSpanContext(ROOT_CONTEXT, spanContext));
    expect(carrier).toStrictEqual({ traceparent: TRACEPARENT });
  });

  it('writes tracestate and baggage when the context has them', () => {
    const withState = trace.setSpanContext(ROOT_CONTEXT, { ...spanContext, traceState: new TraceState('vendor=abc') });
    const baggage = propagation.createBaggage({ tenant: { value: 'acme corp' } });
    const withBaggage = propagation.setBaggage(withState, baggage);

    expect(injectTraceCarrier(withBaggage)).toStrictEqual({
      traceparent: TRACEPARENT,
      tracestate: 'vendor=abc',
      baggage: 'tenant=acme%20corp',
    });
  });

  it('writes nothing for a context without trace context', () => {
    expect(injectTraceCarrier(ROOT_CONTEXT)).toStrictEqual({});
  });

  it('gives a carrier the consumer side extracts back to the same span context', () => {
    const carrier = injectTraceCarrier(trace.setSpanContext(ROOT_CONTEXT, spanContext));
    const extracted = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier, untrustedCarrierGetter));
    expect(extracted).toMatchObject({ ...spanContext, isRemote: true });
  });
});

describe('untrustedCarrierGetter', () => {
  it('reads own, non-empty string W3C fields', () => {
    const carrier = { traceparent: TRACEPARENT, tracestate: 'a=b', baggage: 'k=v' };
    expect(untrustedCarrierGetter.get(carrier, 'traceparent')).toBe(TRACEPARENT);
    expect(untrustedCarrierGetter.get(carrier, 'tracestate')).toBe('a=b');
    expect(untrustedCarrierGetter.get(carrier, 'baggage')).toBe('k=v');
  });

  it('reads no other key, even one the carrier has', () => {
    expect(untrustedCarrierGetter.get({ 'x-request-id': 'r1', b3: 'x' }, 'x-request-id')).toBeUndefined();
    expect(untrustedCarrierGetter.get({ b3: 'x' }, 'b3')).toBeUndefined();
  });

  it('reads nothing inherited', () => {
    const inherited = Object.create({ traceparent: TRACEPARENT }) as object;
    expect(untrustedCarrierGetter.get(inherited, 'traceparent')).toBeUndefined();
  });

  it.each([
    ['an array', [TRACEPARENT]],
    ['a number', 42],
    ['an object', { value: TRACEPARENT }],
    ['null', null],
    ['an empty string', ''],
  ])('reads a traceparent that is %s as absent', (_, value) => {
    expect(untrustedCarrierGetter.get({ traceparent: value }, 'traceparent')).toBeUndefined();
  });

  it('reads values over the W3C size limits as absent, and values at the limits as they are', () => {
    const longest = { traceparent: 't'.repeat(55), tracestate: `a=${'x'.repeat(254)},b=${'y'.repeat(253)}`, baggage: 'b'.repeat(8192) };
    const tooLong = { traceparent: 't'.repeat(56), tracestate: `a=${'x'.repeat(254)},b=${'y'.repeat(254)}`, baggage: 'b'.repeat(8193) };
    for (const key of ['traceparent', 'tracestate', 'baggage'] as const) {
      expect(untrustedCarrierGetter.get(longest, key)).toBe(longest[key]);
      expect(untrustedCarrierGetter.get(tooLong, key)).toBeUndefined();
    }
  });

  it.each([
    ['a string', TRACEPARENT],
    ['an array', [TRACEPARENT]],
    ['a number', 7],
    ['null', null],
    ['undefined', undefined],
  ])('reads nothing from a carrier that is %s', (_, carrier) => {
    expect(untrustedCarrierGetter.get(carrier, 'traceparent')).toBeUndefined();
    expect(untrustedCarrierGetter.keys(carrier)).toEqual([]);
  });

  it('lists only the W3C keys the carrier has', () => {
    const carrier = { traceparent: TRACEPARENT, baggage: 'k=v', 'x-request-id': 'r1', b3: '1' };
    expect(untrustedCarrierGetter.keys(carrier)).toEqual(['traceparent', 'baggage']);
  });

  it('lists no key named after an Object.prototype member', () => {
    const carrier = JSON.parse(
      `{"traceparent":"${TRACEPARENT}","constructor":"x","toString":"x","hasOwnProperty":"x","__proto__":"x"}`,
    ) as unknown;
    expect(untrustedCarrierGetter.keys(carrier)).toEqual(['traceparent']);
  });
});

describe('traceCarrierFromTopLevel', () => {
  it('picks only the W3C string keys of a raw message, leaving the message as it was', () => {
    const w3c = { traceparent: TRACEPARENT, tracestate: 'a=b', baggage: 'k=v' };
    const message = { message: 'hi', request_id: 'r1', ...w3c, b3: 'x', 'x-request-id': 'r1' };
    const copy = structuredClone(message);

    expect(traceCarrierFromTopLevel(message)).toStrictEqual(w3c);
    expect(message).toStrictEqual(copy);
  });

  it('drops W3C keys that are not strings, are empty or are over the size limits', () => {
    expect(
      traceCarrierFromTopLevel({ traceparent: 17, tracestate: '', baggage: 'b'.repeat(8193) }),
    ).toStrictEqual({});
    const mixed = { traceparent: [TRACEPARENT], tracestate: { a: 'b' }, baggage: 'k=v' };
    expect(traceCarrierFromTopLevel(mixed)).toStrictEqual({ baggage: 'k=v' });
  });

  it.each([
    ['a string', 'hello'],
    ['an array', [{ traceparent: TRACEPARENT }]],
    ['a number', 3],
    ['null', null],
    ['undefined', undefined],
  ])('gives an empty carrier for a message that is %s', (_, message) => {
    expect(traceCarrierFromTopLevel(message)).toStrictEqual({});
  });
});

describe('extraction from malformed trace context', () => {
  const UPPER_TRACEPARENT = `00-${TRACE_ID.toUpperCase()}-${SPAN_ID.toUpperCase()}-01`;
  const malformedTraceparents: [string, unknown][] = [
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['an all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['a long span id', `00-${TRACE_ID}-${SPAN_ID}0-01`],
    ['one-digit flags', `00-${TRACE_ID}-${SPAN_ID}-1`],
    ['a three-digit version', `000-${TRACE_ID}-${SPAN_ID}-01`],
    ['uppercase hex', UPPER_TRACEPARENT],
    ['non-hex digits', `00-${'g'.repeat(32)}-${SPAN_ID}-01`],
    ['trailing garbage on version 00', `${TRACEPARENT}-garbage`],
    ['a missing part', `00-${TRACE_ID}-01`],
    ['an array', [TRACEPARENT]],
    ['a number', 1234],
    ['an object', { traceparent: TRACEPARENT }],
    ['null', null],
    ['an empty string', ''],
    ['a 10 kB string', 'x'.repeat(10_240)],
    // A future version may append fields, which the W3C propagator accepts: only the size cap stops this one.
    ['a 10 kB future-version traceparent', `01-${TRACE_ID}-${SPAN_ID}-01-${'a'.repeat(10_240)}`],
  ];

  describe.each(['parent', 'link'] as const)('in %s mode', (parentMode) => {
    it.each(malformedTraceparents)('a traceparent with %s gives a new root span', (_, traceparent) => {
      expectNewRootSpan(consumerSpanFor({ traceparent }, parentMode));
    });

    it.each([
      ['a string', TRACEPARENT],
      ['an array', [{ traceparent: TRACEPARENT }]],
      ['a number', 42],
      ['null', null],
      ['undefined', undefined],
    ])('metadata that is %s gives a new root span', (_, metadata) => {
      expectNewRootSpan(consumerSpanFor(metadata, parentMode));
    });
  });

  it('a traceparent inherited from the carrier\'s prototype is not read', () => {
    expectNewRootSpan(consumerSpanFor(Object.create({ traceparent: TRACEPARENT })));
  });

  it('gives fresh trace ids: two malformed messages do not share a trace', () => {
    const first = consumerSpanFor({ traceparent: UPPER_TRACEPARENT });
    const second = consumerSpanFor({ traceparent: UPPER_TRACEPARENT });
    expect(traceIdOf(first)).not.toBe(traceIdOf(second));
    expect(traceIdOf(first)).not.toBe(TRACE_ID.toUpperCase());
  });

  it('the propagators extract no valid span context from any of them', () => {
    for (const [, traceparent] of malformedTraceparents) {
      const extractedContext = propagation.extract(ROOT_CONTEXT, { traceparent }, untrustedCarrierGetter);
      const extracted = trace.getSpanContext(extractedContext);
      expect({ traceparent, isValid: extracted !== undefined && trace.isSpanContextValid(extracted) }).toEqual({
        traceparent,
        isValid: false,
      });
    }
  });

  it('a valid traceparent is used (the control case of the tests above)', () => {
    expectChildOfCarriedSpan(consumerSpanFor({ traceparent: TRACEPARENT }));
  });

  it('a tracestate of up to 512 characters is kept', () => {
    const tracestate = `a=${'x'.repeat(254)},b=${'y'.repeat(253)}`;
    expect(tracestate).toHaveLength(512);

    const span = consumerSpanFor({ traceparent: TRACEPARENT, tracestate });

    expectChildOfCarriedSpan(span);
    expect(span.spanContext().traceState?.serialize()).toBe(tracestate);
  });

  it('a tracestate over 512 characters is ignored, while the valid traceparent is still used', () => {
    const tracestate = `a=${'x'.repeat(254)},b=${'y'.repeat(254)}`;
    expect(tracestate).toHaveLength(513);

    const span = consumerSpanFor({ traceparent: TRACEPARENT, tracestate });

    expectChildOfCarriedSpan(span);
    expect(span.spanContext().traceState?.serialize() ?? '').toBe('');
  });

  it.each([
    ['a key of 257 characters', `foo=1,${'z'.repeat(257)}=1`],
    ['33 members', Array.from({ length: 33 }, (_, index) => `k${index}=v`).join(',')],
    ['a key that starts with @', '@foo=1,bar=2'],
    ['an illegal value', 'foo=a\u0001b,bar=2'],
  ])('a tracestate with %s is ignored whole (W3C strict), while the valid traceparent is still used', (_, tracestate) => {
    expect(untrustedCarrierGetter.get({ traceparent: TRACEPARENT, tracestate }, 'tracestate')).toBeUndefined();
    expect(traceCarrierFromTopLevel({ traceparent: TRACEPARENT, tracestate })).toStrictEqual({ traceparent: TRACEPARENT });

    const span = consumerSpanFor({ traceparent: TRACEPARENT, tracestate });

    expectChildOfCarriedSpan(span);
    expect(span.spanContext().traceState?.serialize() ?? '').toBe('');
  });

  it('a tracestate of 32 members, keys of 256 characters, multi-tenant keys or keys of the draft grammar is kept', () => {
    for (const tracestate of [
      Array.from({ length: 32 }, (_, index) => `k${index}=v`).join(','),
      `foo=1,${'z'.repeat(256)}=1`,
      `foo=1,${'t'.repeat(241)}@${'v'.repeat(14)}=1`,
      `foo@=1,foo@@bar=2,${'t'.repeat(242)}@v=3`,
    ]) {
      expect(consumerSpanFor({ traceparent: TRACEPARENT, tracestate }).spanContext().traceState?.serialize()).toBe(tracestate);
    }
  });

  it('a tracestate with a duplicated key is kept, the key once (the first)', () => {
    expect(consumerSpanFor({ traceparent: TRACEPARENT, tracestate: 'foo=1,bar=2,foo=3' }).spanContext().traceState?.serialize()).toBe('foo=1,bar=2');
  });

  it('a baggage of up to 8192 characters is kept', () => {
    const baggage = `a=${'x'.repeat(4094)},b=${'y'.repeat(4093)}`;
    expect(baggage).toHaveLength(8192);

    const { context: handlerContext, span } = new MessageSpans().startConsumer(
      { traceparent: TRACEPARENT, baggage },
      { destination: 'untrusted' },
    );
    span.end();

    expect(propagation.getBaggage(handlerContext)?.getAllEntries().map(([key]) => key)).toEqual(['a', 'b']);
  });

  it('a baggage over 8192 characters is ignored entirely, while the valid traceparent is still used', () => {
    const baggage = `a=${'x'.repeat(4094)},b=${'y'.repeat(4094)}`;
    expect(baggage).toHaveLength(8193);

    const { context: handlerContext, span } = new MessageSpans().startConsumer(
      { traceparent: TRACEPARENT, baggage },
      { destination: 'untrusted' },
    );
    span.end();

    expect(propagation.getBaggage(handlerContext)).toBeUndefined();
    expect(trace.getSpan(handlerContext)?.spanContext().traceId).toBe(TRACE_ID);
  });

  it('__proto__ and constructor keys in a carrier do not pollute Object.prototype', () => {
    const HOSTILE_BAGGAGE = '__proto__=polluted,constructor=polluted';
    const hostile =
      '{"__proto__":{"polluted":"yes","traceparent":"x"},' +
      '"constructor":{"prototype":{"polluted":"yes"}},' +
      `"traceparent":"${TRACEPARENT}","baggage":"${HOSTILE_BAGGAGE}"}`;
    expect(Object.keys(JSON.parse(hostile))).toEqual(['__proto__', 'constructor', 'traceparent', 'baggage']);

    const span = consumerSpanFor(JSON.parse(hostile));
    const fromTopLevel = traceCarrierFromTopLevel(JSON.parse(hostile));
    const keys = untrustedCarrierGetter.keys(JSON.parse(hostile));
    for (const key of ['__proto__', 'constructor', 'polluted']) untrustedCarrierGetter.get(JSON.parse(hostile), key);
    const withBaggage = propagation.extract(context.active(), JSON.parse(hostile), untrustedCarrierGetter);

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('traceparent');
    expectChildOfCarriedSpan(span);
    expect(fromTopLevel).toStrictEqual({ traceparent: TRACEPARENT, baggage: HOSTILE_BAGGAGE });
    expect(keys).toContain('traceparent');
    expect(propagation.getBaggage(withBaggage)?.getEntry('constructor')?.value).toBe('polluted');
  });
});

describe('baggage limits on extract (W3C: 8192 bytes, 180 members)', () => {
  const members = (count: number) => Array.from({ length: count }, (_, index) => `k${index}=v`).join(',');

  it('keeps a baggage of 180 members whole, and only the first 180 of a longer one', () => {
    expect(untrustedCarrierGetter.get({ baggage: members(180) }, 'baggage')).toBe(members(180));
    expect(untrustedCarrierGetter.get({ baggage: members(500) }, 'baggage')).toBe(members(180));
    const extracted = propagation.getBaggage(propagation.extract(ROOT_CONTEXT, { baggage: members(500) }, untrustedCarrierGetter));
    expect(extracted?.getAllEntries()).toHaveLength(180);
  });

  it('ignores a baggage of at most 8192 characters but more than 8192 bytes', () => {
    const multiByte = `k=${'é'.repeat(4096)}`;
    expect(multiByte.length).toBeLessThanOrEqual(8192);
    expect(Buffer.byteLength(multiByte)).toBeGreaterThan(8192);
    expect(untrustedCarrierGetter.get({ baggage: multiByte }, 'baggage')).toBeUndefined();
    expect(untrustedCarrierGetter.get({ baggage: `k=${'é'.repeat(100)}` }, 'baggage')).toBe(`k=${'é'.repeat(100)}`);
  });

  it('reads baggage keys named like Object.prototype members without polluting anything', () => {
    const baggage = '__proto__=polluted,constructor=x,toString=y,hasOwnProperty=z';
    const extracted = propagation.getBaggage(propagation.extract(ROOT_CONTEXT, { baggage }, untrustedCarrierGetter));
    // The stock propagator collects entries in a plain object, where `__proto__` is not an entry: it is dropped.
    expect(Object.fromEntries(extracted?.getAllEntries().map(([key, entry]) => [key, entry.value]) ?? [])).toEqual({
      constructor: 'x',
      toString: 'y',
      hasOwnProperty: 'z',
    });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype.toString.call({})).toBe('[object Object]');
  });

  it('reads a 1 MB baggage string as no baggage, the traceparent beside it still used', () => {
    const huge = 'k=v,'.repeat(262_144);
    const extracted = propagation.extract(ROOT_CONTEXT, { traceparent: TRACEPARENT, baggage: huge }, untrustedCarrierGetter);
    expect(propagation.getBaggage(extracted)).toBeUndefined();
    expect(trace.getSpanContext(extracted)?.traceId).toBe(TRACEPARENT.split('-')[1]);
  });
});
