/*
 * WorkerSpanProcessor against real parts: the standard OTLP exporters (in the worker thread, from the compiled
 * dist/worker-export/export-worker.js: `test` depends on `build`), a real OTLP/gRPC receiver, and a node:http server
 * for OTLP/HTTP. Nothing of the export path is mocked.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Attributes, type Context, ROOT_CONTEXT, type SpanContext, SpanKind, SpanStatusCode, trace, TraceFlags, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type IdGenerator, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { findFreePort, OtlpTraceReceiver, waitUntil } from '@nest-redis-otel/testing';
import { WorkerSpanProcessor, type WorkerSpanProcessorOptions } from './worker-span-processor';

const RESOURCE = { 'service.name': 'worker-export-spec', 'deployment.environment': 'test', 'host.cores': 8 };
const T0 = 1_700_000_000_000;

/** Ids in sequence, so that two runs of the same workload make the same spans. */
class SequentialIds implements IdGenerator {
  private next = 1;
  generateTraceId(): string {
    return (this.next++).toString(16).padStart(32, '0');
  }
  generateSpanId(): string {
    return (this.next++).toString(16).padStart(16, '0');
  }
}

function tracerWith(processor: SpanProcessor): { tracer: Tracer; provider: BasicTracerProvider } {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(RESOURCE),
    idGenerator: new SequentialIds(),
    spanProcessors: [processor],
  });
  return { provider, tracer: provider.getTracer('spec-scope', '1.2.3') };
}

/** Parent and child, a remote-linked consumer span, an error, events with attributes, explicit times. */
function endRepresentativeSpans(tracer: Tracer): void {
  const parent = tracer.startSpan('GET /items', { kind: SpanKind.SERVER, startTime: T0, attributes: { 'http.route': '/items', 'http.status_code': 200 } });
  const parentContext = parent.spanContext();
  const child = tracer.startSpan(
    'send item.created',
    { kind: SpanKind.PRODUCER, startTime: T0 + 1, attributes: { tags: ['a', 'b'], ratio: 0.5, ok: true } },
    // A child of `parent`: the API's context, without a context manager.
    setParent(parentContext),
  );
  child.addEvent('published', { 'messaging.message.id': '1-0', attempt: 2 }, T0 + 2);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'partial' });
  child.end(T0 + 3);
  const consumer = tracer.startSpan('process item.created', {
    kind: SpanKind.CONSUMER,
    startTime: T0 + 4,
    links: [{ context: { ...child.spanContext(), isRemote: true }, attributes: { 'link.reason': 'batch' } }],
  });
  consumer.setStatus({ code: SpanStatusCode.OK });
  consumer.end(T0 + 5);
  parent.end(T0 + 6);
  // Not sampled: neither processor exports it.
  tracer.startSpan('unsampled', {}, setParent({ ...parentContext, traceFlags: TraceFlags.NONE })).end(T0 + 7);
}

function setParent(spanContext: SpanContext): Context {
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

function endSpans(tracer: Tracer, count: number, attributes: Attributes = {}): void {
  for (let i = 0; i < count; i++) tracer.startSpan(`span ${i}`, { attributes }).end();
}

describe('WorkerSpanProcessor (spans exported from a worker thread)', () => {
  let receiver: OtlpTraceReceiver;
  const processors: WorkerSpanProcessor[] = [];
  const processor = (options: WorkerSpanProcessorOptions) => {
    const created = new WorkerSpanProcessor({ protocol: 'grpc', url: receiver.endpoint, ...options });
    processors.push(created);
    return created;
  };

  beforeAll(async () => {
    receiver = await OtlpTraceReceiver.start();
  });
  afterEach(async () => {
    await Promise.all(processors.splice(0).map((created) => created.shutdown()));
    receiver.clear();
  });
  afterAll(async () => {
    await receiver.stop();
  });

  it('sends what the BatchSpanProcessor sends: ids, parent, kind, attributes, events, links, status, resource, scope', async () => {
    const viaBatch = tracerWith(new BatchSpanProcessor(new OTLPTraceExporter({ url: receiver.endpoint })));
    endRepresentativeSpans(viaBatch.tracer);
    await viaBatch.provider.shutdown();
    const expected = [...receiver.spans].sort((a, b) => a.spanId.localeCompare(b.spanId));
    receiver.clear();

    const viaWorker = tracerWith(processor({ scheduledDelayMillis: 60_000 }));
    endRepresentativeSpans(viaWorker.tracer);
    await viaWorker.provider.shutdown();
    const received = [...receiver.spans].sort((a, b) => a.spanId.localeCompare(b.spanId));

    expect(received).toEqual(expected);
    // And the comparison is not between two empty or trivial sets:
    expect(received.map((span) => `${span.kind} ${span.name}`)).toEqual([
      'SERVER GET /items',
      'PRODUCER send item.created',
      'CONSUMER process item.created',
    ]);
    const [server, producer, consumer] = received;
    expect(producer).toMatchObject({
      serviceName: 'worker-export-spec',
      scopeName: 'spec-scope',
      scopeVersion: '1.2.3',
      parentSpanId: server?.spanId,
      traceId: server?.traceId,
      attributes: { tags: ['a', 'b'], ratio: 0.5, ok: true },
      events: [{ name: 'published', attributes: { 'messaging.message.id': '1-0', attempt: 2 } }],
      status: { code: 'ERROR', message: 'partial' },
      startTimeUnixNano: BigInt(T0 + 1) * 1_000_000n,
    });
    expect(consumer?.links).toEqual([{ traceId: producer?.traceId, spanId: producer?.spanId, attributes: { 'link.reason': 'batch' } }]);
    expect(consumer?.status.code).toBe('OK');
  });

  it('forceFlush and shutdown deliver every span ended before them, exactly once', async () => {
    const worker = processor({ scheduledDelayMillis: 60_000, maxExportBatchSize: 100, maxQueueSize: 2048 });
    const { tracer } = tracerWith(worker);
    endSpans(tracer, 1030);
    await worker.forceFlush();
    expect(receiver.spans).toHaveLength(1030);

    endSpans(tracer, 250, { round: 2 });
    await worker.shutdown();
    expect(receiver.spans).toHaveLength(1280);
    expect(new Set(receiver.spans.map((span) => span.spanId)).size).toBe(1280);
    expect(receiver.spans.filter((span) => span.attributes['round'] === 2)).toHaveLength(250);
    expect({ exported: worker.exportedSpans, dropped: worker.droppedSpans, failed: worker.failedSpans }).toEqual({
      exported: 1280,
      dropped: 0,
      failed: 0,
    });
  });

  it('with no collector, onEnd stays fast and drops exactly what exceeds the queue bound; shutdown ends within its timeout', async () => {
    const closedPort = await findFreePort();
    const lines: string[] = [];
    const worker = new WorkerSpanProcessor({
      protocol: 'grpc',
      url: `http://127.0.0.1:${closedPort}`,
      maxQueueSize: 100,
      maxExportBatchSize: 10,
      scheduledDelayMillis: 60_000,
      exportTimeoutMillis: 1000,
      log: (line) => lines.push(line),
    });
    processors.push(worker);
    const { tracer } = tracerWith(worker);

    const started = performance.now();
    endSpans(tracer, 5000);
    const elapsed = performance.now() - started;

    // No ack can arrive while this thread runs the loop: the first 100 spans fill the bound (posted or buffered), every
    // later one is dropped.
    expect(worker.queuedSpans).toBe(100);
    expect(worker.droppedSpans).toBe(5000 - 100);
    expect(elapsed).toBeLessThan(2000);
    expect(lines.filter((line) => line.includes('span queue is full'))).toHaveLength(1);

    const shutdownStarted = performance.now();
    await worker.shutdown();
    // One flush wait (exportTimeoutMillis), then the worker is terminated.
    expect(performance.now() - shutdownStarted).toBeLessThan(1000 + 1000);
    expect(receiver.spans).toEqual([]);
  });

  it('a killed worker: the app goes on, the spans it held are counted as dropped, a new worker exports the next spans', async () => {
    const lines: string[] = [];
    const worker = processor({ scheduledDelayMillis: 60_000, maxExportBatchSize: 50, workerRestartDelayMillis: 0, log: (line) => lines.push(line) });
    const { tracer } = tracerWith(worker);
    endSpans(tracer, 10, { phase: 'before' });
    await worker.forceFlush();
    expect(receiver.spans).toHaveLength(10);

    // A full batch is posted, and the worker is terminated while it exports it.
    endSpans(tracer, 50, { phase: 'killed' });
    await worker.terminateWorkerForTest();
    // Every posted span is either acknowledged (exported) or, held by the dead worker, counted as dropped. A dropped
    // one may still have reached the collector (the worker can die between the export and its ack): at most once.
    const lostWithWorker = worker.droppedSpans;
    const ackedOfKilled = worker.exportedSpans - 10;
    expect(lostWithWorker + ackedOfKilled).toBe(50);
    expect(receiver.spans.filter((span) => span.attributes['phase'] === 'killed').length).toBeGreaterThanOrEqual(ackedOfKilled);
    expect(lines.some((line) => line.includes('the span export worker stopped') && line.includes('restarted now'))).toBe(true);
    expect(worker.workerStarts).toBe(2);

    endSpans(tracer, 20, { phase: 'after' });
    await worker.forceFlush();
    expect(receiver.spans.filter((span) => span.attributes['phase'] === 'after')).toHaveLength(20);
    expect(worker.droppedSpans).toBe(lostWithWorker);
  });

  it('a worker that dies again within the restart delay is not restarted until then; spans wait within the bound', async () => {
    const lines: string[] = [];
    const worker = processor({ scheduledDelayMillis: 60_000, maxQueueSize: 40, maxExportBatchSize: 10, workerRestartDelayMillis: 60_000, log: (line) => lines.push(line) });
    const { tracer } = tracerWith(worker);
    await worker.terminateWorkerForTest();
    expect(worker.workerStarts).toBe(1);
    expect(lines.some((line) => line.includes('the span export worker stopped') && /restarted in \d+ ms/.test(line))).toBe(true);

    endSpans(tracer, 100);
    expect(worker.queuedSpans).toBe(40);
    expect(worker.droppedSpans).toBe(60);
    // Shutdown has no worker to flush to: the waiting spans are dropped, and counted.
    await worker.shutdown();
    expect(worker.droppedSpans).toBe(100);
    expect(receiver.spans).toEqual([]);
  });

  it('exports over OTLP/HTTP with protobuf when the protocol is http/protobuf', async () => {
    const posts = new EventEmitter();
    const requests: { path: string | undefined; contentType: string | undefined; bytes: number }[] = [];
    const server: Server = createServer((request, response) => {
      let bytes = 0;
      request.on('data', (chunk: Buffer) => (bytes += chunk.length));
      request.on('end', () => {
        requests.push({ path: request.url, contentType: request.headers['content-type'], bytes });
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        posts.emit('post');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const worker = processor({ protocol: 'http/protobuf', url: `http://127.0.0.1:${port}/v1/traces`, scheduledDelayMillis: 60_000 });
      const { tracer } = tracerWith(worker);
      endSpans(tracer, 3);
      await worker.forceFlush();
      await waitUntil(posts, 'post', () => requests.length >= 1, { timeoutMs: 5000, what: 'An OTLP/HTTP post', describeState: () => '(none)' });
      expect(requests).toEqual([{ path: '/v1/traces', contentType: 'application/x-protobuf', bytes: expect.any(Number) }]);
      expect(requests[0]?.bytes).toBeGreaterThan(0);
      expect(worker.exportedSpans).toBe(3);
      expect(receiver.spans).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
