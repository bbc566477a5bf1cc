/*
 * The logs as an operator meets them in the built apps. What in-process tests cannot show: that the bundled app finds
 * the pino-pretty transport (a webpack build once rewrote the check for it and refused LOG_FORMAT=pretty), that a
 * human-readable line still carries the trace id shared with the other service's JSON line, and that what a caller
 * sends as credentials never reaches stdout.
 */
import { randomUUID } from 'node:crypto';
import { type ServedStack, serveStack } from './served-app';

const SECRET_TOKEN = `secret-${randomUUID()}`;
const SECRET_COOKIE = `session-${randomUUID()}`;

describe('logs of the served apps', () => {
  let stack: ServedStack;

  beforeAll(async () => {
    stack = await serveStack({ env: { LOG_FORMAT: 'json' }, consumerEnv: { LOG_FORMAT: 'pretty' } });
  });

  afterAll(() => stack?.stop());

  it('JSON in items-api, human-readable in redis-consumer (LOG_FORMAT), one trace id across both; no credentials, no probes', async () => {
    expect((await fetch(`${stack.baseUrl}/health`)).status).toBe(200);
    const requestId = `e2e-${randomUUID()}`;
    const response = await fetch(`${stack.baseUrl}/items`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': requestId,
        authorization: `Bearer ${SECRET_TOKEN}`,
        cookie: `sid=${SECRET_COOKIE}`,
      },
      body: JSON.stringify({ name: 'logged' }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };

    const completed = JSON.parse(
      await stack.api.waitForLine((line) => line.includes('"request completed"') && line.includes(requestId)),
    ) as { trace_id: string; span_id: string; trace_flags: string };
    expect(completed).toMatchObject({
      level: 30,
      service: 'items-api',
      request_id: requestId,
      trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      trace_flags: '01',
    });

    const stored = await stack.consumer.waitForLine((line) => line.includes(`stored item:${id}`));
    expect(() => JSON.parse(stored)).toThrow();
    expect(stored).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: item\.created: stored item:/);
    expect(stored).toContain(`"trace_id":"${completed.trace_id}"`);

    for (const line of [...stack.api.lines, ...stack.consumer.lines]) {
      expect(line).not.toContain(SECRET_TOKEN);
      expect(line).not.toContain(SECRET_COOKIE);
    }
    // Request lines (pino-http's, with a `req`) for the probe: none, while the POST above has one.
    const requestLines = stack.api.lines.filter((line) => line.includes('"req":{'));
    expect(requestLines.some((line) => line.includes(requestId))).toBe(true);
    expect(requestLines.filter((line) => line.includes('/api/health'))).toEqual([]);
  });
});
