import type { ReceivedSpan } from '@nest-redis-otel/testing';
import { completeTrace } from './demo-requests';

function received(spanId: string, parentSpanId: string | undefined, kind: ReceivedSpan['kind'], attributes = {}): ReceivedSpan {
  return {
    serviceName: kind === 'CONSUMER' ? 'redis-consumer' : 'items-api',
    scopeName: 'test',
    scopeVersion: '1.0.0',
    traceId: 't1',
    spanId,
    parentSpanId,
    traceState: '',
    name: spanId,
    kind,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 1n,
    attributes,
    events: [],
    links: [],
    status: { code: 'UNSET', message: '' },
  };
}

describe('completeTrace', () => {
  const server = received('server', undefined, 'SERVER', { 'http.response.header.x-request-id': ['demo-1'] });
  const producer = received('producer', 'server', 'PRODUCER');
  const consumer = received('consumer', 'producer', 'CONSUMER');

  it("finds the trace by the request id on its SERVER span, once root, consumer and every span's parent are in", () => {
    expect(completeTrace([server, producer, consumer], 'demo-1')).toEqual([server, producer, consumer]);
  });

  it('waits while the consumer span or a parent is missing', () => {
    expect(completeTrace([server, producer], 'demo-1')).toBeUndefined();
    expect(completeTrace([server, consumer], 'demo-1')).toBeUndefined();
  });

  it('ignores the spans of other requests and other traces', () => {
    const other = { ...consumer, traceId: 't2' };
    expect(completeTrace([server, producer, other], 'demo-1')).toBeUndefined();
    expect(completeTrace([server, producer, consumer], 'demo-2')).toBeUndefined();
  });
});
