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

  /** The callback's tracestate for a request with `traceparent` and these `tracestate` header lines. */
  async function propagatedTraceState(...tracestate: string[]): Promise<string | undefined> {
    const headers = new Headers({ 'content-type': 'application/json', traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    for (const line of tracestate) headers.append('tracestate', line);
    const response = await fetch(`${stack.baseUrl}/tracecontext/validate`, {
      method: 'POST',
      headers,
      body: JSON.stringify([{ url: `${harnessUrl}/strict`, arguments: [] }]),
    });
    answered = true;
    expect(response.status).toBe(200);
    const [callback] = callbacks;
    expect(String(callback?.headers.traceparent).split('-')[1]).toBe(TRACE_ID);
    const propagated = callback?.headers.tracestate;
    return propagated === undefined ? undefined : String(propagated);
  }

  // The four tracestate tests of the W3C suite that only run at STRICT_LEVEL=2 (w3c/trace-context test/test.py at
  // acab820, which checks the editor's draft key grammar: `@` anywhere in a key but first).
  const members = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, index) => String(from + index).padStart(2, '0'))
      .map((n) => `bar${n}=${n}`)
      .join(',');

  it('strict: a tracestate of 32 members is propagated whole; one of 33 is dropped', async () => {
    const lines = [members(1, 10), members(11, 20), members(21, 30)];
    expect(await propagatedTraceState(...lines, members(31, 32))).toBe(members(1, 32));
    callbacks.length = 0;
    expect(await propagatedTraceState(...lines, members(31, 33))).toBeUndefined();
  });

  it('strict: keys of up to 256 characters are kept, with or without @; a key of 257 drops the tracestate', async () => {
    const kept = [`${'z'.repeat(256)}=1`, `${'t'.repeat(241)}@${'v'.repeat(14)}=1`, `${'t'.repeat(242)}@v=1`, `t@${'v'.repeat(15)}=1`];
    const refused = [`${'z'.repeat(257)}=1`, `${'t'.repeat(243)}@${'v'.repeat(13)}=1`];
    for (const member of kept) {
      callbacks.length = 0;
      expect(await propagatedTraceState('foo=1', member)).toBe(`foo=1,${member}`);
    }
    for (const member of refused) {
      callbacks.length = 0;
      expect(await propagatedTraceState('foo=1', member)).toBeUndefined();
    }
  });

  it.each([['foo@=1,bar=2'], ['foo@@bar=1,bar=2'], ['foo@bar@baz=1,bar=2']])(
    'strict: a key with @ after its first character (%s) is kept, with the member beside it',
    async (tracestate) => {
      expect(await propagatedTraceState(tracestate)).toBe(tracestate);
    },
  );

  it('strict: a key that starts with @ drops the tracestate, the valid member beside it too', async () => {
    expect(await propagatedTraceState('@foo=1,bar=2')).toBeUndefined();
  });

  it.each([[['foo=1,foo=1']], [['foo=1,foo=2']], [['foo=1', 'foo=1']], [['foo=1', 'foo=2']]])(
    'strict: a tracestate with a duplicated key (%j) is propagated, the key once (the first)',
    async (lines) => {
      expect(await propagatedTraceState(...lines)).toBe('foo=1');
    },
  );

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
