// A collector that costs next to nothing and runs in a process of its own, so that its CPU is measured apart from
// the process under test: OTLP gRPC `TraceService/Export` with an identity deserializer (the raw bytes, no decode),
// OTLP/HTTP `POST /v1/traces`, and any other POST (the @nestjs/observe agent posts gzip JSON to
// `/applications/telemetry`). It counts requests and bytes per path and decodes one request in SAMPLE_EVERY (and
// the first of each path; every Observe request) to check it is well-formed and to estimate spans (OTLP) or traces (Observe) per request.
// Control, on the HTTP port: GET /_bench/stats (counts, samples, its own `process.cpuUsage()`), POST
// /_bench/decode-all?on=1|0 (decode every OTLP request and keep a few fields per span), GET /_bench/spans,
// POST /_bench/clear-spans. Prints `{"grpcPort":…,"httpPort":…}` once it listens. Run by `counting-receiver.client.ts`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { WORKSPACE_ROOT } from '@nest-redis-otel/testing';
import { OTLP_GRPC_TRACES, OTLP_HTTP_TRACES, type PathCount, type ReceiverStats, SAMPLE_EVERY, type SpanRecord } from './counting-receiver.client';

const OTLP_GRPC_METRICS = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

interface WireRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value?: { stringValue?: string } }[] };
    scopeSpans?: { spans?: { traceId: Buffer; name: string; kind: number; startTimeUnixNano: string }[] }[];
  }[];
}

const definition = protoLoader.loadSync(['trace-service.proto'], {
  includeDirs: [join(WORKSPACE_ROOT, 'libs', 'testing', 'proto')],
  keepCase: false,
  longs: String,
  enums: Number,
  defaults: true,
});
const decodeOtlp = (definition['opentelemetry.proto.collector.trace.v1.TraceService'] as grpc.ServiceDefinition)['Export']
  .requestDeserialize as (bytes: Buffer) => WireRequest;

const paths = new Map<string, PathCount>();
let decodeAll = false;
/** CPU spent decoding (samples, decode-all), µs: reported apart, so that the receiver's own cost excludes it. */
let decodeCpuUs = 0;
function timed<T>(work: () => T): T {
  const before = process.cpuUsage();
  try {
    return work();
  } finally {
    const used = process.cpuUsage(before);
    decodeCpuUs += used.user + used.system;
  }
}
const spans: SpanRecord[] = [];

function count(path: string, body: Buffer, decode: (body: Buffer) => { items: number; spans: number }, every = SAMPLE_EVERY): void {
  let entry = paths.get(path);
  if (!entry) paths.set(path, (entry = { requests: 0, bytes: 0, sampled: 0, sampledItems: 0, sampledSpans: 0, malformed: 0 }));
  entry.requests++;
  entry.bytes += body.length;
  if (entry.requests % every !== 1 % every) return;
  entry.sampled++;
  try {
    const { items, spans: nodes } = timed(() => decode(body));
    entry.sampledItems += items;
    entry.sampledSpans += nodes;
  } catch {
    entry.malformed++;
  }
}

function otlpSpans(body: Buffer): { items: number; spans: number } {
  const request = decodeOtlp(body);
  if (!request.resourceSpans?.length) throw new Error('no resourceSpans');
  let total = 0;
  for (const resource of request.resourceSpans) for (const scope of resource.scopeSpans ?? []) total += scope.spans?.length ?? 0;
  return { items: total, spans: total };
}

function keepSpans(body: Buffer): void {
  const request = decodeOtlp(body);
  for (const resource of request.resourceSpans ?? []) {
    const service = resource.resource?.attributes?.find((attribute) => attribute.key === 'service.name')?.value?.stringValue ?? '';
    for (const scope of resource.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        // SERVER and CONSUMER spans only: what "accepted → handler" pairs.
        if (span.kind !== 2 && span.kind !== 5) continue;
        spans.push({ service, kind: span.kind, name: span.name, traceId: span.traceId.toString('hex'), startNs: span.startTimeUnixNano });
      }
    }
  }
}

const countNodes = (nodes: unknown): number =>
  Array.isArray(nodes) ? nodes.reduce((sum: number, node: { ch?: unknown }) => sum + 1 + countNodes(node?.ch), 0) : 0;

/** The Observe agent's batch: `{ serviceId, snapshots: [{ ti, op, p, t: [trace tree] }], jobs?, logs?, runtime? }`. */
function observeTraces(body: Buffer, gzip: boolean): { items: number; spans: number } {
  const batch = JSON.parse((gzip ? gunzipSync(body) : body).toString('utf8')) as { snapshots?: { ti?: string; t?: unknown }[]; jobs?: { t?: unknown }[] };
  if (!Array.isArray(batch.snapshots)) throw new Error('no snapshots');
  const all = [...batch.snapshots, ...(batch.jobs ?? [])];
  if (batch.snapshots.some((snapshot) => typeof snapshot.ti !== 'string')) throw new Error('a snapshot without a trace id');
  return { items: all.length, spans: all.reduce((sum, snapshot) => sum + countNodes(snapshot.t), 0) };
}

function onOtlpExport(path: string, body: Buffer): void {
  count(path, body, otlpSpans);
  if (decodeAll) timed(() => keepSpans(body));
}

function handleHttp(request: IncomingMessage, response: ServerResponse): void {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = new URL(request.url ?? '/', 'http://receiver');
    const json = (value: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    if (url.pathname === '/_bench/stats') return json({ paths: Object.fromEntries(paths), cpu: process.cpuUsage(), decodeCpuUs } satisfies ReceiverStats);
    if (url.pathname === '/_bench/decode-all') {
      decodeAll = url.searchParams.get('on') === '1';
      return json({ decodeAll });
    }
    if (url.pathname === '/_bench/spans') return json(spans);
    if (url.pathname === '/_bench/clear-spans') {
      spans.length = 0;
      return json({});
    }
    if (request.method !== 'POST') {
      response.writeHead(404);
      return response.end();
    }
    if (url.pathname === OTLP_HTTP_TRACES) {
      onOtlpExport(OTLP_HTTP_TRACES, body);
      // An empty ExportTraceServiceResponse.
      response.writeHead(200, { 'content-type': 'application/x-protobuf' });
      return response.end();
    }
    // Every one decoded: the agent posts once per flush (a second or more), and what it shipped is the point.
    count(url.pathname, body, (bytes) => observeTraces(bytes, request.headers['content-encoding'] === 'gzip'), 1);
    // The agent reads the reply as JSON (`{ degraded: true }` would make it stop sending spans).
    json({});
  });
}

async function main(): Promise<void> {
  const identity = (bytes: Buffer) => bytes;
  const unary = (path: string) => ({
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  });
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 2 ** 20 });
  const reply = (path: string) => (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    if (path === OTLP_GRPC_TRACES) onOtlpExport(path, call.request);
    else count(path, call.request, () => ({ items: 0, spans: 0 }));
    // An empty Export*ServiceResponse: zero bytes.
    callback(null, Buffer.alloc(0));
  };
  server.addService({ Export: unary(OTLP_GRPC_TRACES) } as grpc.ServiceDefinition, { Export: reply(OTLP_GRPC_TRACES) });
  server.addService({ Export: unary(OTLP_GRPC_METRICS) } as grpc.ServiceDefinition, { Export: reply(OTLP_GRPC_METRICS) });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
  const http = createServer(handleHttp);
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`${JSON.stringify({ grpcPort, httpPort: address.port })}\n`);
  // The parent closes stdin to stop it (or dies).
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
