/*
 * Metrics go out next to the traces, over the same OTLP endpoint, from both served apps: what unit tests of the
 * instruments cannot show is that the SDK bootstrap wires a metric exporter at all and that the apps' messages reach
 * it with the attributes a dashboard groups by.
 */
import type { ReceivedDataPoint } from '@nest-redis-otel/testing';
import { type ServedStack, serveStack } from './served-app';

/** The latest point of `metric` from `service` whose attributes include `attributes`. */
function latest(points: ReceivedDataPoint[], service: string, metric: string, attributes: Record<string, unknown>) {
  return points
    .filter((point) => point.serviceName === service && point.metric === metric)
    .filter((point) => Object.entries(attributes).every(([key, value]) => point.attributes[key] === value))
    .at(-1);
}

describe('messaging metrics of the served apps (OTLP gRPC)', () => {
  let stack: ServedStack;

  beforeAll(async () => {
    stack = await serveStack({ env: { OTEL_METRIC_EXPORT_INTERVAL: '300' } });
  });

  afterAll(() => stack?.stop());

  it('count what items-api sent and redis-consumer processed, per destination, with durations and error types', async () => {
    for (const name of ['one', 'two', 'three']) {
      const response = await fetch(`${stack.baseUrl}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      expect(response.status).toBe(202);
    }
    expect((await fetch(`${stack.baseUrl}/items/00000000-0000-4000-8000-000000000000`)).status).toBe(404);

    const created = { 'messaging.system': 'redis', 'messaging.destination.name': 'item.created' };
    const points = await stack.receiver.waitForMetrics((received) => {
      const processed = latest(received, 'redis-consumer', 'messaging.process.duration', created);
      const notFound = latest(received, 'items-api', 'messaging.client.sent.messages', {
        'messaging.destination.name': 'item.get',
        'error.type': 'ITEM_NOT_FOUND',
      });
      return (processed?.count ?? 0) >= 3 && notFound ? received : undefined;
    });

    expect(latest(points, 'items-api', 'messaging.client.sent.messages', { ...created, 'messaging.operation.name': 'send' })).toMatchObject({
      type: 'sum',
      unit: '{message}',
      value: 3,
    });
    expect(latest(points, 'items-api', 'messaging.client.operation.duration', created)).toMatchObject({ type: 'histogram', unit: 's', count: 3 });
    expect(latest(points, 'redis-consumer', 'messaging.client.consumed.messages', { ...created, 'messaging.operation.name': 'process' })).toMatchObject({
      value: 3,
    });
    const processed = latest(points, 'redis-consumer', 'messaging.process.duration', created);
    expect(processed).toMatchObject({ type: 'histogram', unit: 's', count: 3 });
    expect(processed?.sum).toBeGreaterThan(0);
  });
});
