import { ROOT_CONTEXT, metrics } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { useInMemoryTracing } from '../../test/in-memory-tracing';
import { DeliveryAccounting } from '../client/delivery-accounting';
import { DeadLetters } from '../server/dead-letters';
import { endMessageSpan, MessageSpans, recordMessageFailure } from './message-spans';

/** A reader the test pulls from (`collect()`), as a periodic exporter would at each interval. */
class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const reader = new PullReader();
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
useInMemoryTracing();

/** Every data point collected now, as `metric {attributes}` → value (sums) or count (histograms). */
async function collected(): Promise<Record<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const points: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints) {
        const key = `${metric.descriptor.name} ${JSON.stringify(point.attributes)}`;
        points[key] = metric.dataPointType === DataPointType.HISTOGRAM ? (point.value as { count: number }).count : (point.value as number);
      }
    }
  }
  return points;
}

const base = (operation: string, destination: string) => ({
  'messaging.system': 'redis',
  'messaging.destination.name': destination,
  'messaging.operation.name': operation,
});

describe('messaging metrics', () => {
  it('count each send and each handling, with their durations and the error.type of failures, once per span', async () => {
    const spans = new MessageSpans();
    const sent = spans.startProducer(ROOT_CONTEXT, { destination: 'item.created' });
    endMessageSpan(sent);
    endMessageSpan(sent); // a second end changes nothing
    const failed = spans.startProducer(ROOT_CONTEXT, { destination: 'item.get' });
    recordMessageFailure(failed, new Error('no reply'));
    endMessageSpan(failed);
    const processed = spans.startConsumer({}, { destination: 'item.created' });
    endMessageSpan(processed.span);

    const points = await collected();
    expect(points).toMatchObject({
      [`messaging.client.sent.messages ${JSON.stringify(base('send', 'item.created'))}`]: 1,
      [`messaging.client.operation.duration ${JSON.stringify(base('send', 'item.created'))}`]: 1,
      [`messaging.client.sent.messages ${JSON.stringify({ ...base('send', 'item.get'), 'error.type': 'Error' })}`]: 1,
      [`messaging.client.consumed.messages ${JSON.stringify(base('process', 'item.created'))}`]: 1,
      [`messaging.process.duration ${JSON.stringify(base('process', 'item.created'))}`]: 1,
    });
  });

  it('count refused messages by kind, and publishes that reached no subscriber', async () => {
    const deadLetters = new DeadLetters(() => undefined, false);
    await deadLetters.keep('not-json', 'not JSON', 'item.created', 'x');
    await deadLetters.keep('not-json', 'not JSON', 'item.created', 'y');
    const deliveries = new DeliveryAccounting('test');
    deliveries.record('my-channel', 0);
    deliveries.record('my-channel', 2);

    const points = await collected();
    expect(points[`nest_redis_otel.messages.refused ${JSON.stringify({ ...base('process', 'item.created'), 'error.type': 'not-json' })}`]).toBe(2);
    expect(points[`nest_redis_otel.messages.undelivered ${JSON.stringify(base('send', 'my-channel'))}`]).toBe(1);
  });
});
