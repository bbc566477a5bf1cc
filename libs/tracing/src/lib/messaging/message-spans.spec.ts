/*
 * Why this suite exists: every span this library creates comes from MessageSpans, and the spans are what users see
 * in Jaeger: their names, kinds and attributes follow the messaging semantic conventions, their parentage decides
 * whether producer and consumer join into one trace, and payload capture decides what personal data leaves the
 * process. These tests pin all of that down against a real SDK (in-memory exporter), without Redis.
 */
import { RpcException } from '@nestjs/microservices';
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
} from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { parentSpanIdOf, spanIdOf, traceIdOf, useInMemoryTracing } from '../../test/in-memory-tracing';
import { injectTraceCarrier } from '../propagation/message-carrier';
import type { MessagingTracingOptions } from '../types';
import { describeError, isMessageSpan, type MessageFacts, MessageSpans, recordEnvelopeSize, recordMessageFailure } from './message-spans';

const tracing = useInMemoryTracing();
const testTracer = () => trace.getTracer('message-spans.spec');

/** Ends `span` and returns what the exporter got for it. */
function ended(span: Span): ReadableSpan {
  span.end();
  const exported = tracing.spans().find((candidate) => spanIdOf(candidate) === span.spanContext().spanId);
  if (!exported) throw new Error(`span ${span.spanContext().spanId} was not exported`);
  return exported;
}

/** A context whose active span is a fresh (recording, sampled) span named `name`, and that span. */
function contextWithSpan(name: string, parent: Context = ROOT_CONTEXT): { span: Span; context: Context } {
  const span = testTracer().startSpan(name, {}, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** The exported PRODUCER span of a message, from a `MessageSpans` with `options`. */
const producerSpan = (facts: MessageFacts, options?: MessagingTracingOptions, parent: Context = ROOT_CONTEXT) =>
  ended(new MessageSpans(options).startProducer(parent, facts));

/** The exported CONSUMER span of a message carrying `carrier`, from a `MessageSpans` with `options`. */
const consumerSpan = (carrier: unknown, facts: MessageFacts, options?: MessagingTracingOptions) =>
  ended(new MessageSpans(options).startConsumer(carrier, facts).span);

const payloadAttributes = (span: ReadableSpan) =>
  Object.fromEntries(Object.entries(span.attributes).filter(([key]) => key.startsWith('messaging.payload.')));

describe('MessageSpans', () => {
  describe('producer spans', () => {
    it('are PRODUCER spans named "send <destination>" with the messaging attributes', () => {
      const span = producerSpan({ destination: 'orders.created', messageId: 'm-1' });

      expect(span.name).toBe('send orders.created');
      expect(span.kind).toBe(SpanKind.PRODUCER);
      expect(span.attributes).toStrictEqual({
        'messaging.system': 'redis',
        'messaging.destination.name': 'orders.created',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.message.id': 'm-1',
      });
    });

    it('have no messaging.message.id when the message has none (events)', () => {
      const span = producerSpan({ destination: 'orders.created' });
      expect(span.attributes).not.toHaveProperty(['messaging.message.id']);
    });

    it('are children of the parent they are given, not of the active context', () => {
      const given = contextWithSpan('given parent');
      const active = contextWithSpan('active span');

      const span = context.with(active.context, () => producerSpan({ destination: 'd' }, {}, given.context));

      expect(traceIdOf(span)).toBe(given.span.spanContext().traceId);
      expect(parentSpanIdOf(span)).toBe(given.span.spanContext().spanId);
    });

    it('carry the envelope size the transport gives, and never serialize the data to measure it', () => {
      const data = { toJSON: jest.fn(() => ({ a: 1 })) };
      const span = producerSpan({ destination: 'd', data, envelopeBytes: 42 });
      expect(span.attributes['messaging.message.envelope.size']).toBe(42);
      expect(span.attributes).not.toHaveProperty(['messaging.message.body.size']);
      expect(data.toJSON).not.toHaveBeenCalled();
    });

    it('recordEnvelopeSize sets the UTF-8 byte length of the message on a recorded span of this library only', () => {
      const own = new MessageSpans().startProducer(ROOT_CONTEXT, { destination: 'd' });
      // {"s":"é€😀"} is 12 UTF-16 code units but 17 bytes in UTF-8.
      recordEnvelopeSize(own, JSON.stringify({ s: 'é€😀' }));
      expect(ended(own).attributes['messaging.message.envelope.size']).toBe(17);

      const foreign = testTracer().startSpan('not a message span');
      recordEnvelopeSize(foreign, 'abc');
      expect(ended(foreign).attributes).not.toHaveProperty(['messaging.message.envelope.size']);
      expect(() => recordEnvelopeSize(undefined, 'abc')).not.toThrow();
    });
  });

  describe('consumer spans', () => {
    it('are CONSUMER spans named "process <destination>" with the messaging attributes', () => {
      const exported = consumerSpan({}, { destination: 'orders.created', messageId: 'm-2', data: { a: 1 }, envelopeBytes: 7 });

      expect(exported.name).toBe('process orders.created');
      expect(exported.kind).toBe(SpanKind.CONSUMER);
      expect(exported.attributes).toStrictEqual({
        'messaging.system': 'redis',
        'messaging.destination.name': 'orders.created',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.message.id': 'm-2',
        'messaging.message.envelope.size': 7,
      });
    });

    it('are children of the producer span whose context the carrier holds, in its trace', () => {
      const producer = new MessageSpans().startProducer(ROOT_CONTEXT, { destination: 'd' });
      const carrier = injectTraceCarrier(trace.setSpan(ROOT_CONTEXT, producer));
      expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

      const consumer = consumerSpan(carrier, { destination: 'd' });
      producer.end();

      expect(traceIdOf(consumer)).toBe(producer.spanContext().traceId);
      expect(parentSpanIdOf(consumer)).toBe(producer.spanContext().spanId);
      expect(consumer.parentSpanContext?.isRemote).toBe(true);
      expect(consumer.links).toEqual([]);
    });

    it('return the context to run the handler in: the consumer span active, the carried baggage readable', () => {
      const producer = contextWithSpan('producer');
      const withBaggage = propagation.setBaggage(
        producer.context,
        propagation.createBaggage({ tenant: { value: 'acme' } }),
      );
      const carrier = injectTraceCarrier(withBaggage);

      const started = new MessageSpans().startConsumer(carrier, { destination: 'd' });

      expect(trace.getSpan(started.context)).toBe(started.span);
      expect(propagation.getBaggage(started.context)?.getEntry('tenant')?.value).toBe('acme');
    });

    it('ignore the context active where they start: the parent comes from the message only', () => {
      const ambient = contextWithSpan('ambient request');

      const consumer = context.with(ambient.context, () => consumerSpan({}, { destination: 'd' }));

      expect(consumer.parentSpanContext).toBeUndefined();
      expect(traceIdOf(consumer)).not.toBe(ambient.span.spanContext().traceId);
    });

    it("in link mode start a new trace with one link to the producer span, and keep the message's baggage", () => {
      const producer = contextWithSpan('producer');
      const carrier = injectTraceCarrier(
        propagation.setBaggage(producer.context, propagation.createBaggage({ tenant: { value: 'acme' } })),
      );

      const started = new MessageSpans({ parentMode: 'link' }).startConsumer(carrier, { destination: 'd' });
      const consumer = ended(started.span);

      expect(consumer.parentSpanContext).toBeUndefined();
      expect(traceIdOf(consumer)).not.toBe(producer.span.spanContext().traceId);
      expect(trace.isSpanContextValid(consumer.spanContext())).toBe(true);
      expect(consumer.links).toHaveLength(1);
      expect(consumer.links[0].context).toMatchObject({
        traceId: producer.span.spanContext().traceId,
        spanId: producer.span.spanContext().spanId,
      });
      expect(trace.getSpan(started.context)).toBe(started.span);
      expect(propagation.getBaggage(started.context)?.getEntry('tenant')?.value).toBe('acme');
    });

    it('in link mode add no link when the message carries no valid context', () => {
      const invalid = { traceparent: `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01` };
      const consumer = consumerSpan(invalid, { destination: 'd' }, { parentMode: 'link' });
      expect(consumer.parentSpanContext).toBeUndefined();
      expect(consumer.links).toEqual([]);
    });
  });

  describe('payload capture', () => {
    const data = {
      request_id: 'r-1',
      message: 'hello',
      count: 3,
      urgent: false,
      nested: { request_id: 'deep' },
      list: ['a'],
      nothing: null,
      secret: 'hunter2',
    };

    it('is off by default: no payload field becomes an attribute', () => {
      const producer = producerSpan({ destination: 'd', data });
      const consumer = consumerSpan({}, { destination: 'd', data });
      expect(payloadAttributes(producer)).toStrictEqual({});
      expect(payloadAttributes(consumer)).toStrictEqual({});
    });

    it('is off with an empty field list', () => {
      const span = producerSpan({ destination: 'd', data }, { payloadCapture: { fields: [] } });
      expect(payloadAttributes(span)).toStrictEqual({});
    });

    it('records only the allowlisted top-level string, number and boolean fields, on both kinds of span', () => {
      const spans = new MessageSpans({
        payloadCapture: { fields: ['request_id', 'count', 'urgent', 'nested', 'list', 'nothing', 'absent'] },
      });
      const producer = ended(spans.startProducer(ROOT_CONTEXT, { destination: 'd', data }));
      const consumer = ended(spans.startConsumer({}, { destination: 'd', data }).span);

      const expected = {
        'messaging.payload.request_id': 'r-1',
        'messaging.payload.count': 3,
        'messaging.payload.urgent': false,
      };
      expect(payloadAttributes(producer)).toStrictEqual(expected);
      expect(payloadAttributes(consumer)).toStrictEqual(expected);
    });

    it('cuts string values to maxLength characters', () => {
      const span = producerSpan(
        { destination: 'd', data: { message: 'abcdefgh', request_id: 'r-1' } },
        { payloadCapture: { fields: ['message', 'request_id'], maxLength: 4 } },
      );
      expect(payloadAttributes(span)).toStrictEqual({
        'messaging.payload.message': 'abcd',
        'messaging.payload.request_id': 'r-1',
      });
    });

    it('cuts string values to 256 characters by default', () => {
      const span = producerSpan(
        { destination: 'd', data: { message: 'x'.repeat(300) } },
        { payloadCapture: { fields: ['message'] } },
      );
      expect(span.attributes['messaging.payload.message']).toBe('x'.repeat(256));
    });

    it('ignores inherited and prototype keys, even allowlisted ones', () => {
      const inherited = Object.assign(Object.create({ request_id: 'from-prototype' }) as object, { message: 'own' });
      const span = producerSpan(
        { destination: 'd', data: inherited },
        { payloadCapture: { fields: ['request_id', 'message', 'toString', 'constructor', '__proto__'] } },
      );
      expect(payloadAttributes(span)).toStrictEqual({ 'messaging.payload.message': 'own' });
    });

    it('records nothing from data that is not a plain object', () => {
      const options = { payloadCapture: { fields: ['0', 'length', 'request_id'] } };
      for (const data of ['request_id', ['r-1'], 7, null]) {
        const span = producerSpan({ destination: 'd', data }, options);
        expect(payloadAttributes(span)).toStrictEqual({});
      }
    });

    it('does not see later changes to the options it was given', () => {
      const fields = ['request_id'];
      const spans = new MessageSpans({ payloadCapture: { fields } });
      fields.push('secret');
      expect(payloadAttributes(ended(spans.startProducer(ROOT_CONTEXT, { destination: 'd', data })))).toStrictEqual({
        'messaging.payload.request_id': 'r-1',
      });
    });
  });

  describe('isMessageSpan', () => {
    it('recognises the spans MessageSpans started, and only those', () => {
      const spans = new MessageSpans();
      const producer = spans.startProducer(ROOT_CONTEXT, { destination: 'd' });
      const consumer = spans.startConsumer({}, { destination: 'd' }).span;
      const other = testTracer().startSpan('someone else');

      expect(isMessageSpan(producer)).toBe(true);
      expect(isMessageSpan(consumer)).toBe(true);
      expect(isMessageSpan(other)).toBe(false);
      expect(isMessageSpan(undefined)).toBe(false);
      [producer, consumer, other].forEach((span) => span.end());
    });
  });
});

describe('recordMessageFailure', () => {
  const newSpan = () => new MessageSpans().startProducer(ROOT_CONTEXT, { destination: 'd' });

  it('marks the span ERROR with the message, sets error.type and records the exception as an event', () => {
    const span = newSpan();
    recordMessageFailure(span, new TypeError('bad input'));
    const exported = ended(span);

    expect(exported.status).toStrictEqual({ code: SpanStatusCode.ERROR, message: 'bad input' });
    expect(exported.attributes['error.type']).toBe('TypeError');
    expect(exported.events).toHaveLength(1);
    expect(exported.events[0].name).toBe('exception');
    expect(exported.events[0].attributes).toMatchObject({
      'exception.type': 'TypeError',
      'exception.message': 'bad input',
      'exception.stacktrace': expect.stringContaining('bad input'),
    });
  });

  it('records an RPC error that is a plain object under its code', () => {
    const span = newSpan();
    recordMessageFailure(span, { code: 'NOPE', message: 'not today' });
    const exported = ended(span);

    expect(exported.status).toStrictEqual({ code: SpanStatusCode.ERROR, message: 'not today' });
    expect(exported.attributes['error.type']).toBe('NOPE');
    expect(exported.events.map((event) => event.attributes)).toStrictEqual([
      { 'exception.type': 'NOPE', 'exception.message': 'not today' },
    ]);
  });

  it('records a span once: later failures of the same span are ignored', () => {
    const span = newSpan();
    recordMessageFailure(span, new RangeError('first, most precise'));
    recordMessageFailure(span, { status: 'error', message: 'Internal server error' });
    recordMessageFailure(span, new Error('third'));
    const exported = ended(span);

    expect(exported.events).toHaveLength(1);
    expect(exported.attributes['error.type']).toBe('RangeError');
    expect(exported.status.message).toBe('first, most precise');
  });

  it('records each span separately', () => {
    const first = newSpan();
    const second = newSpan();
    recordMessageFailure(first, new Error('one'));
    recordMessageFailure(second, new Error('two'));
    expect(ended(first).status.message).toBe('one');
    expect(ended(second).status.message).toBe('two');
  });
});

describe('describeError', () => {
  class QuotaExceededError extends Error {}
  class NamedError extends Error {
    override name = 'CustomName';
  }
  const circular: Record<string, unknown> = { code: 7 };
  circular['self'] = circular;

  it.each<[string, unknown, { type: string; message: string }]>([
    ['an Error', new Error('boom'), { type: 'Error', message: 'boom' }],
    ['a built-in Error subclass', new TypeError('t'), { type: 'TypeError', message: 't' }],
    ['a subclass keeping the name "Error"', new QuotaExceededError('q'), { type: 'QuotaExceededError', message: 'q' }],
    ['an Error with its own name', new NamedError('n'), { type: 'CustomName', message: 'n' }],
    ['an RpcException', new RpcException({ code: 'NOPE', message: 'nope' }), { type: 'RpcException', message: 'nope' }],
    ['an RPC error with a code', { code: 'NOPE', message: 'nope' }, { type: 'NOPE', message: 'nope' }],
    ['an RPC error with a name', { name: 'Conflict', message: 'c' }, { type: 'Conflict', message: 'c' }],
    ["Nest's unknown-error reply", { status: 'error', message: 'Oops' }, { type: 'error', message: 'Oops' }],
    ['an object with a message only', { message: 'm' }, { type: 'RpcError', message: 'm' }],
    ['an object with a numeric code', { code: 404, message: 'm' }, { type: 'RpcError', message: 'm' }],
    ['an object without a message, as JSON', { reason: 'x' }, { type: 'RpcError', message: '{"reason":"x"}' }],
    ['an object JSON cannot serialize', circular, { type: 'RpcError', message: '[object Object]' }],
    ['a string', 'boom', { type: 'string', message: 'boom' }],
    ['a number', 42, { type: 'number', message: '42' }],
    ['undefined', undefined, { type: 'undefined', message: 'undefined' }],
  ])('describes %s', (_, error, expected) => {
    expect(describeError(error)).toStrictEqual(expected);
  });

  it('describes null without throwing', () => {
    expect(describeError(null)).toMatchObject({ message: 'null', type: expect.any(String) });
  });
});
