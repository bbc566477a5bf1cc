import { ROOT_CONTEXT } from '@opentelemetry/api';
import { useInMemoryMetrics } from '../../test/in-memory-metrics';
import { useInMemoryTracing } from '../../test/in-memory-tracing';
import { DeliveryAccounting } from '../client/delivery-accounting';
import { DeadLetters } from '../consumer/dead-letters';
import { endMessageSpan, MessageSpans, recordMessageFailure } from './message-spans';

const metrics = useInMemoryMetrics();
useInMemoryTracing();

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

    const sentPoint = await metrics.pointOf('messaging.client.sent.messages', base('send', 'item.created'));
    expect(sentPoint).toMatchObject({ unit: '{message}', value: 1 });
    const sendDuration = await metrics.pointOf('messaging.client.operation.duration', base('send', 'item.created'));
    expect(sendDuration).toMatchObject({ unit: 's', value: 1 });
    expect(sendDuration?.sum).toBeGreaterThanOrEqual(0);
    expect(await metrics.pointOf('messaging.client.sent.messages', { ...base('send', 'item.get'), 'error.type': 'Error' })).toMatchObject({
      value: 1,
    });
    expect(await metrics.pointOf('messaging.client.consumed.messages', base('process', 'item.created'))).toMatchObject({
      unit: '{message}',
      value: 1,
    });
    expect(await metrics.pointOf('messaging.process.duration', base('process', 'item.created'))).toMatchObject({ unit: 's', value: 1 });
  });

  it('count a failed handling under its error.type, apart from the successful ones of the same destination', async () => {
    const spans = new MessageSpans();
    for (const outcome of ['ok', 'ok', 'failed', 'rejected']) {
      const { span } = spans.startConsumer({}, { destination: 'orders' });
      if (outcome === 'failed') recordMessageFailure(span, new TypeError('bad order'));
      if (outcome === 'rejected') recordMessageFailure(span, { code: 'OUT_OF_STOCK', message: 'no more' });
      endMessageSpan(span);
    }

    const durations = (await metrics.points()).filter(
      (point) => point.metric === 'messaging.process.duration' && point.attributes['messaging.destination.name'] === 'orders',
    );
    expect(durations.map((point) => [point.attributes['error.type'], point.value])).toEqual(
      expect.arrayContaining([
        [undefined, 2],
        ['TypeError', 1],
        ['OUT_OF_STOCK', 1],
      ]),
    );
    expect(durations).toHaveLength(3);
    expect(await metrics.pointOf('messaging.client.consumed.messages', { ...base('process', 'orders'), 'error.type': 'TypeError' })).toMatchObject({
      value: 1,
    });
  });

  it('record the same counts whether or not the span is sampled (metrics see every message)', async () => {
    const spans = new MessageSpans();
    const unsampledParent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    const { span } = spans.startConsumer({ traceparent: unsampledParent }, { destination: 'unsampled' });
    expect(span.isRecording()).toBe(false);
    endMessageSpan(span);

    expect(await metrics.pointOf('messaging.process.duration', base('process', 'unsampled'))).toMatchObject({ value: 1 });
  });

  it('count refused messages by kind, and publishes that reached no subscriber', async () => {
    const deadLetters = new DeadLetters<string>({ describe: (raw) => `message ${raw}` });
    await deadLetters.refuse({ kind: 'not-json', reason: 'not JSON', destination: 'item.created' }, 'x');
    await deadLetters.refuse({ kind: 'not-json', reason: 'not JSON', destination: 'item.created' }, 'y');
    const deliveries = new DeliveryAccounting('test');
    deliveries.record('my-channel', 0);
    deliveries.record('my-channel', 2);

    expect(await metrics.pointOf('nest_redis_otel.messages.refused', { ...base('process', 'item.created'), 'error.type': 'not-json' })).toMatchObject({
      value: 2,
    });
    expect(await metrics.pointOf('nest_redis_otel.messages.undelivered', base('send', 'my-channel'))).toMatchObject({ value: 1 });
  });
});
