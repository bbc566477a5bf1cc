/*
 * Why this suite exists: a batch span processor holds spans in memory for seconds, so a service that stops without
 * flushing loses the last traces it made: those of its last requests, usually the ones someone wants to look at.
 * With a schedule delay far longer than the test, the only way the spans below reach the receiver is the flush the
 * SDK bootstrap and TracingModule do on SIGTERM. Metrics likewise: with the default export interval (a minute), only
 * the final flush can deliver them. The same processes check the standard OTEL_* settings.
 */
import { once } from 'node:events';
import { findFreePort, OtlpTraceReceiver, startRedisTestServer } from '@nest-redis-otel/testing';
import { serveBuiltApp, serveStack } from './served-app';

describe('SDK bootstrap lifecycle in the served apps', () => {
  it('exports buffered spans and metrics on SIGTERM, exits 0, and honours OTEL_SERVICE_NAME and OTEL_METRICS_EXPORTER', async () => {
    const stack = await serveStack({
      env: { OTEL_BSP_SCHEDULE_DELAY: '600000' },
      consumerEnv: { OTEL_SERVICE_NAME: 'orders-worker', OTEL_METRICS_EXPORTER: 'none' },
    });
    const { receiver, consumer, api } = stack;
    try {
      const response = await fetch(`${stack.baseUrl}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'flushed' }),
      });
      expect(response.status).toBe(202);
      const { id } = (await response.json()) as { id: string };
      await consumer.waitForLine((line) => line.includes(`stored item:${id}`));
      expect(receiver.spans).toHaveLength(0);
      expect(receiver.dataPoints).toHaveLength(0);

      const exits = [once(api.process, 'exit'), once(consumer.process, 'exit')];
      api.process.kill('SIGTERM');
      consumer.process.kill('SIGTERM');
      const [[apiCode], [consumerCode]] = await Promise.all(exits);
      expect({ apiCode, consumerCode }).toEqual({ apiCode: 0, consumerCode: 0 });

      const producer = receiver.spans.find((span) => span.name === 'send item.created');
      const process = receiver.spans.find((span) => span.name === 'process item.created');
      expect(producer?.serviceName).toBe('items-api');
      expect(process?.serviceName).toBe('orders-worker');
      expect(process?.parentSpanId).toBe(producer?.spanId);
      const sent = receiver.dataPoints.find(
        (point) => point.metric === 'messaging.client.sent.messages' && point.attributes['messaging.destination.name'] === 'item.created',
      );
      expect(sent).toMatchObject({ serviceName: 'items-api', value: 1 });
      // OTEL_METRICS_EXPORTER=none: the consumer exported spans, and no metrics at all.
      expect(receiver.dataPoints.filter((point) => point.serviceName === 'orders-worker')).toEqual([]);
    } finally {
      await stack.stop();
    }
  });

  it('with no collector listening, SIGTERM still exits 0: the failed final flush does not fail the shutdown', async () => {
    const closedPort = await findFreePort();
    const stack = await serveStack({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}`, OTEL_BSP_SCHEDULE_DELAY: '600000' },
    });
    try {
      const response = await fetch(`${stack.baseUrl}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'nowhere to export' }),
      });
      expect(response.status).toBe(202);
      const { id } = (await response.json()) as { id: string };
      await stack.consumer.waitForLine((line) => line.includes(`stored item:${id}`));
      const exits = [once(stack.api.process, 'exit'), once(stack.consumer.process, 'exit')];
      stack.api.process.kill('SIGTERM');
      stack.consumer.process.kill('SIGTERM');
      const [[apiCode], [consumerCode]] = await Promise.all(exits);
      expect({ apiCode, consumerCode }).toEqual({ apiCode: 0, consumerCode: 0 });
    } finally {
      await stack.stop();
    }
  });

  it('with OTEL_SDK_DISABLED=true the service works and exports nothing', async () => {
    const receiver = await OtlpTraceReceiver.start();
    const redis = await startRedisTestServer();
    const port = await findFreePort();
    try {
      const api = await serveBuiltApp(
        'items-api',
        { REDIS_URL: redis.url, PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SDK_DISABLED: 'true' },
        'items-api listening',
      );
      const response = await fetch(`http://127.0.0.1:${port}/api/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'untraced' }),
      });
      expect(response.status).toBe(202);
      // Stopping makes an enabled SDK flush (previous test), so an empty receiver here means nothing was recorded.
      await api.stop();
      expect(receiver.spans).toEqual([]);
      expect(receiver.dataPoints).toEqual([]);
    } finally {
      await Promise.all([receiver.stop(), redis.stop()]);
    }
  });
});
