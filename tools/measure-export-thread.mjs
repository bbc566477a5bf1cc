// CPU per span of span export: main thread (process.threadCpuUsage) and whole process (process.cpuUsage), for the
// BatchSpanProcessor on the main thread and WorkerSpanProcessor, over gRPC and HTTP/protobuf. The receivers run in a
// child process, so that their CPU is not counted. Run after `npx nx run sdk:build`, from the workspace root:
//   node tools/measure-export-thread.mjs [spans=100000]
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const SPANS = Number(process.argv[3] ?? process.argv[2] ?? 100_000);

if (process.argv[2] === 'receivers') {
  const grpc = require('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader');
  const definition = protoLoader.loadSync(['trace-service.proto'], { includeDirs: [join(here, '..', 'libs', 'testing', 'proto')] });
  const proto = grpc.loadPackageDefinition(definition);
  const server = new grpc.Server();
  server.addService(proto.opentelemetry.proto.collector.trace.v1.TraceService.service, { Export: (_call, callback) => callback(null, {}) });
  const grpcPort = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
  const http = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  process.send({ grpcPort, httpPort: http.address().port });
} else {
  const child = fork(fileURLToPath(import.meta.url), ['receivers'], { stdio: 'inherit' });
  const { grpcPort, httpPort } = await new Promise((resolve) => child.once('message', resolve));
  const { resourceFromAttributes } = require('@opentelemetry/resources');
  const { BasicTracerProvider, BatchSpanProcessor, NoopSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter: Grpc } = require('@opentelemetry/exporter-trace-otlp-grpc');
  const { OTLPTraceExporter: Proto } = require('@opentelemetry/exporter-trace-otlp-proto');
  const { WorkerSpanProcessor } = require(join(here, '..', 'libs', 'sdk', 'dist', 'worker-export', 'worker-span-processor.js'));
  const urls = { grpc: `http://127.0.0.1:${grpcPort}`, 'http/protobuf': `http://127.0.0.1:${httpPort}/v1/traces` };
  const queue = { maxQueueSize: SPANS + 1, maxExportBatchSize: 512, scheduledDelayMillis: 200 };
  const make = {
    none: () => new NoopSpanProcessor(),
    'main grpc': () => new BatchSpanProcessor(new Grpc({ url: urls.grpc }), queue),
    'main http/protobuf': () => new BatchSpanProcessor(new Proto({ url: urls['http/protobuf'] }), queue),
    'worker grpc': () => new WorkerSpanProcessor({ protocol: 'grpc', url: urls.grpc, ...queue }),
    'worker http/protobuf': () => new WorkerSpanProcessor({ protocol: 'http/protobuf', url: urls['http/protobuf'], ...queue }),
  };
  const rows = [];
  for (const round of [1, 2]) {
    for (const [name, create] of Object.entries(make)) {
      const processor = create();
      const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'measure' }), spanProcessors: [processor] });
      const tracer = provider.getTracer('measure', '1.0.0');
      // Let the worker start before measuring (its start-up is not per span).
      await new Promise((resolve) => setTimeout(resolve, 300));
      const thread = process.threadCpuUsage();
      const total = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < SPANS; i++) {
        const span = tracer.startSpan('GET /items/:id', { attributes: { 'http.route': '/items/:id', 'http.status_code': 200, 'item.id': i } });
        span.addEvent('cache miss', { key: `item:${i}` });
        span.end();
        if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
      }
      // The BatchSpanProcessor's forceFlush exports its whole backlog at once, past the exporter's concurrency limit:
      // let its timer-driven exports (one batch at a time) drain it first.
      while (processor._finishedSpans?.length > 0 || processor._isExporting) await new Promise((resolve) => setTimeout(resolve, 5));
      await processor.forceFlush();
      const wall = performance.now() - started;
      const threadUs = cpu(process.threadCpuUsage(thread));
      const totalUs = cpu(process.cpuUsage(total));
      const dropped = processor.droppedSpans ?? 0;
      await provider.shutdown();
      if (round === 2) rows.push({ processor: name, 'main µs/span': (threadUs / SPANS).toFixed(2), 'process µs/span': (totalUs / SPANS).toFixed(2), 'wall ms': Math.round(wall), dropped });
    }
  }
  console.table(rows);
  child.kill();
}

function cpu(usage) {
  return usage.user + usage.system;
}
