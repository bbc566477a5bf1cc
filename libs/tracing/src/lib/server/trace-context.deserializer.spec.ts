/*
 * Why this suite exists: the server learns a message's trace context only through this deserializer, for Nest
 * packets (`metadata`) and for raw JSON from other runtimes (top-level keys) alike, and it must never alter the
 * data a handler receives.
 */
import { IncomingRequestDeserializer } from '@nestjs/microservices';
import { TraceContextDeserializer } from './trace-context.deserializer';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const CHANNEL = { channel: 'my-channel' };

/** Deserializes `value` as `ServerRedis` does. */
async function deserialize(value: unknown) {
  const deserializer = new TraceContextDeserializer(new IncomingRequestDeserializer());
  return { packet: await deserializer.deserialize(value, CHANNEL) };
}

describe('TraceContextDeserializer', () => {
  it('passes a Nest packet through, its metadata as the trace carrier and its data untouched', async () => {
    const value = {
      pattern: 'item.get',
      id: 'p1',
      data: { id: 'i1', traceparent: 'not mine' },
      metadata: { traceparent: TRACEPARENT },
    };

    const { packet } = await deserialize(structuredClone(value));

    expect(packet).toStrictEqual(value);
  });

  it('gives a Nest packet without usable metadata an empty carrier', async () => {
    for (const metadata of [undefined, 'x', [TRACEPARENT], 3, null]) {
      const { packet } = await deserialize({ pattern: 'e', data: { a: 1 }, metadata });
      expect(packet.metadata).toStrictEqual({});
    }
  });

  it('reads the trace context of a raw JSON message from its top level, and passes the whole message as data', async () => {
    const raw = { message: 'hi', request_id: 'r1', traceparent: TRACEPARENT, tracestate: 'a=b', extra: 1 };

    const { packet } = await deserialize(structuredClone(raw));

    const metadata = { traceparent: TRACEPARENT, tracestate: 'a=b' };
    expect(packet).toStrictEqual({ pattern: 'my-channel', data: raw, metadata });
  });

  it('treats a message that is not JSON (a string) as data with no trace context', async () => {
    const { packet } = await deserialize('definitely { not json');
    expect(packet).toStrictEqual({ pattern: 'my-channel', data: 'definitely { not json', metadata: {} });
  });

  it('reads a hostile raw message without polluting Object.prototype', async () => {
    const hostile = JSON.parse(
      `{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"traceparent":"${TRACEPARENT}"}`,
    ) as unknown;

    const { packet } = await deserialize(hostile);

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(packet.metadata).toStrictEqual({ traceparent: TRACEPARENT });
    expect(packet.data).toBe(hostile);
  });

  it('ignores the W3C keys of a raw message that are not usable strings', async () => {
    const { packet } = await deserialize({ message: 'hi', traceparent: ['x'], baggage: 'b'.repeat(9000) });
    expect(packet.metadata).toStrictEqual({});
  });
});
