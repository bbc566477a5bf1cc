/*
 * Why this suite exists: Nest's Redis client and server stop for good at the first disconnect unless retries are
 * configured (nestjs/nest#14044), and a pub/sub subscriber that reconnects without resubscribing is deaf while
 * looking healthy. Only a real Redis going away and coming back, with the real processes, shows that both services
 * reconnect, resubscribe, and keep producing one trace per request. It needs a Redis it may restart: it always starts
 * its own, whatever REDIS_URL says.
 */
import { type ServedStack, serveStack } from './served-app';

const READY = 'Connected to Redis';

describe('a Redis restart (same address)', () => {
  let stack: ServedStack;

  beforeAll(async () => {
    stack = await serveStack({ requirePrivateRedis: true });
  });

  afterAll(() => stack?.stop());

  it('both services reconnect and resubscribe by themselves, and the trace still crosses', async () => {
    const { redis, receiver, consumer, api, baseUrl } = stack;
    const consumerMark = consumer.lines.length;
    const apiMark = api.lines.length;
    await redis.restart();
    // Each service has a publishing and a subscribing connection: both must be back.
    for (const [app, mark] of [
      [consumer, consumerMark],
      [api, apiMark],
    ] as const) {
      const first = await app.waitForLine((line) => line.includes(READY), { fromLine: mark });
      await app.waitForLine((line) => line.includes(READY), { fromLine: app.lines.indexOf(first, mark) + 1 });
    }

    const health = await fetch(`${baseUrl}/health`);
    expect(health.status).toBe(200);

    receiver.clear();
    const created = await fetch(`${baseUrl}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'after the restart' }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    const line = await consumer.waitForLine((text) => text.includes(`stored item:${id}`));

    const spans = await receiver.waitFor((received) => {
      const process = received.find((span) => span.name === 'process item.created');
      const producer = received.find((span) => span.name === 'send item.created');
      return process && producer && { process, producer };
    });
    expect(spans.process.parentSpanId).toBe(spans.producer.spanId);
    expect(JSON.parse(line)).toMatchObject({ trace_id: spans.producer.traceId });

    const fetched = await fetch(`${baseUrl}/items/${id}`);
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toMatchObject({ id, name: 'after the restart' });
  });
});
