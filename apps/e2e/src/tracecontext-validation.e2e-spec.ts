/*
 * The W3C trace-context test suite drives a "test service": it POSTs [{url, arguments}] and expects each url to be
 * called back with the trace context continued. Here the callback is made by redis-consumer, after the Redis hop, so
 * the suite checks our propagation end to end. This spec plays the harness: a local HTTP server receives the
 * callbacks and checks what the suite checks, before the service has answered.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServedStack, serveStack } from './served-app';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

interface Callback {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** Whether the validation endpoint had already answered when this callback arrived. */
  afterAnswer: boolean;
}

describe('W3C trace-context test service (TRACECONTEXT_VALIDATION=1, trust mode), through the Redis hop', () => {
  let stack: ServedStack;
  let harness: Server;
  let harnessUrl: string;
  const callbacks: Callback[] = [];
  let answered = false;

  beforeAll(async () => {
    harness = createServer((request, response) => {
      let raw = '';
      request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      request.on('end', () => {
        callbacks.push({ path: request.url ?? '', headers: request.headers, body: JSON.parse(raw || 'null'), afterAnswer: answered });
        response.end('ok');
      });
    });
    harness.listen(0, '127.0.0.1');
    await once(harness, 'listening');
    harnessUrl = `http://127.0.0.1:${(harness.address() as AddressInfo).port}`;
    stack = await serveStack({ env: { TRACECONTEXT_VALIDATION: '1', INCOMING_TRACE_CONTEXT: 'trust' } });
  });

  afterAll(async () => {
    await stack?.stop();
    harness?.close();
  });

  beforeEach(() => {
    callbacks.length = 0;
    answered = false;
  });

  async function validate(headers: Record<string, string>, body: unknown): Promise<Response> {
    const response = await fetch(`${stack.baseUrl}/tracecontext/validate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    answered = true;
    return response;
  }

  it('calls each url back with arguments, continuing the trace with a fresh parent id and the tracestate, before answering', async () => {
    const body = [
      { url: `${harnessUrl}/first`, arguments: [{ url: `${harnessUrl}/nested`, arguments: [] }] },
      { url: `${harnessUrl}/second`, arguments: { anything: 1 } },
    ];
    const response = await validate({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'foo=1,bar=2' }, body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      { url: `${harnessUrl}/first`, status: 200 },
      { url: `${harnessUrl}/second`, status: 200 },
    ]);
    expect(callbacks.map((callback) => [callback.path, callback.body, callback.afterAnswer])).toEqual([
      ['/first', body[0].arguments, false],
      ['/second', body[1].arguments, false],
    ]);
    const parentIds = new Set<string>();
    for (const { headers } of callbacks) {
      const [version, traceId, parentId, flags] = String(headers.traceparent).split('-');
      expect({ version, traceId, flags }).toEqual({ version: '00', traceId: TRACE_ID, flags: '01' });
      expect(parentId).toMatch(/^[0-9a-f]{16}$/);
      expect(parentId).not.toBe(PARENT_ID);
      parentIds.add(parentId);
      expect(headers.tracestate).toBe('foo=1,bar=2');
    }
    expect(parentIds.size).toBe(2);
  });

  it.each([
    ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`],
    ['uppercase', `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`],
    ['trailing data on version 00', `00-${TRACE_ID}-${PARENT_ID}-01-extra`],
  ])('an invalid traceparent (%s) starts a new trace in the callback', async (_, traceparent) => {
    const response = await validate({ traceparent }, [{ url: `${harnessUrl}/x`, arguments: [] }]);
    expect(response.status).toBe(200);
    const [version, traceId] = String(callbacks[0]?.headers.traceparent).split('-');
    expect(version).toBe('00');
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe(TRACE_ID);
    expect(traceId).not.toBe('0'.repeat(32));
  });

  it('a tracestate of more than 32 members is propagated cut to 32 (or dropped), never beyond the limit', async () => {
    const members = Array.from({ length: 40 }, (_, index) => `k${index}=v`).join(',');
    const response = await validate({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: members }, [
      { url: `${harnessUrl}/y`, arguments: [] },
    ]);
    expect(response.status).toBe(200);
    const tracestate = callbacks[0]?.headers.tracestate;
    expect(tracestate === undefined || String(tracestate).split(',').length <= 32).toBe(true);
  });

  it.each([
    ['not an array', { url: 'http://x' }, /JSON array/],
    ['an element without url', [{ arguments: [] }], /Element 0: "url" must be an http\(s\) URL/],
    ['a file: url', [{ url: 'file:///etc/passwd', arguments: [] }], /Element 0: "url" must be an http\(s\) URL/],
  ])('400 for a body that is %s', async (_, body, message) => {
    const response = await validate({}, body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(message);
    expect(callbacks).toEqual([]);
  });
});

describe('without TRACECONTEXT_VALIDATION', () => {
  let stack: ServedStack;

  beforeAll(async () => {
    stack = await serveStack();
  });

  afterAll(() => stack?.stop());

  it('the route does not exist (404): the service posts to no URL it is given', async () => {
    const response = await fetch(`${stack.baseUrl}/tracecontext/validate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[]',
    });
    expect(response.status).toBe(404);
  });
});
