/*
 * items-api faces callers it does not control. Whether a caller's traceparent is continued, only linked, or ignored
 * decides who picks the sampling and whose trace our spans join; baggage from outside may carry anything. Only the
 * served app, with its SDK bootstrap, shows which policy really applies to its SERVER span and what its messages carry.
 */
import { findSpan } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { type ServedStack, serveStack } from './served-app';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const CALLER_HEADERS = { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, baggage: 'tenant=acme,secret=s3cr3t' };

describe.each([
  ['link', {}],
  ['trust', { INCOMING_TRACE_CONTEXT: 'trust' }],
  ['ignore', { INCOMING_TRACE_CONTEXT: 'ignore' }],
] as const)('incoming trace context policy "%s"', (policy, env) => {
  let stack: ServedStack;
  let subscriber: Redis;

  beforeAll(async () => {
    stack = await serveStack({ env: { ...env, INCOMING_BAGGAGE_ALLOWLIST: 'tenant' } });
    subscriber = new Redis(stack.redis.url);
    await subscriber.subscribe('my-channel');
  });

  afterAll(async () => {
    await subscriber?.quit();
    await stack?.stop();
  });

  it('applies to the SERVER span, and only allowlisted baggage travels on', async () => {
    const message = new Promise<Record<string, string>>((resolve) =>
      subscriber.once('message', (_channel: string, raw: string) => resolve(JSON.parse(raw))),
    );
    const response = await fetch(`${stack.baseUrl}/pub`, { headers: CALLER_HEADERS });
    expect(response.status).toBe(202);
    const published = await message;
    expect(published.baggage).toBe('tenant=acme');

    const [, traceId] = published.traceparent.split('-');
    const spans = await stack.receiver.waitFor((received) =>
      received.some((span) => span.traceId === traceId && span.kind === 'SERVER') ? received : undefined,
    );
    const server = findSpan(spans, { traceId, kind: 'SERVER', serviceName: 'items-api' });
    if (policy === 'trust') {
      expect(server).toMatchObject({ traceId: CALLER_TRACE, parentSpanId: CALLER_SPAN, links: [] });
    } else {
      expect(server.traceId).not.toBe(CALLER_TRACE);
      expect(server.parentSpanId).toBeUndefined();
      expect(server.links).toEqual(policy === 'link' ? [expect.objectContaining({ traceId: CALLER_TRACE, spanId: CALLER_SPAN })] : []);
    }
  });
});
