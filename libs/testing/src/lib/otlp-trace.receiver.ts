import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { waitUntil } from './wait-until';

const PROTO_DIR = join(__dirname, '..', '..', 'proto');
const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
const STATUS_CODES = ['UNSET', 'OK', 'ERROR'] as const;

export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

/** One data point of a metric as an OTLP exporter sent it: a sum's or gauge's value, a histogram's count and sum. */
export interface ReceivedDataPoint {
  serviceName: string;
  scopeName: string;
  metric: string;
  unit: string;
  type: 'sum' | 'gauge' | 'histogram';
  attributes: Record<string, AttributeValue>;
  value?: number;
  count?: number;
  sum?: number;
}

/** One span as an OTLP exporter sent it, with ids in lowercase hex. */
export interface ReceivedSpan {
  serviceName: string;
  scopeName: string;
  scopeVersion: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState: string;
  name: string;
  kind: (typeof SPAN_KINDS)[number];
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttributeValue>;
  events: { name: string; attributes: Record<string, AttributeValue> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, AttributeValue> }[];
  status: { code: (typeof STATUS_CODES)[number]; message: string };
}

interface WireAnyValue {
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: WireAnyValue[] };
  bytesValue?: Buffer;
}
interface WireKeyValue {
  key: string;
  value?: WireAnyValue;
}
interface WireSpan {
  traceId: Buffer;
  spanId: Buffer;
  traceState: string;
  parentSpanId: Buffer;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: WireKeyValue[];
  events?: { name: string; attributes?: WireKeyValue[] }[];
  links?: { traceId: Buffer; spanId: Buffer; attributes?: WireKeyValue[] }[];
  status?: { code: number; message: string };
}
interface WireNumberPoint {
  attributes?: WireKeyValue[];
  value?: 'asDouble' | 'asInt';
  asDouble?: number;
  asInt?: string;
}
interface WireHistogramPoint {
  attributes?: WireKeyValue[];
  count: string;
  sum?: number;
}
interface WireMetric {
  name: string;
  unit: string;
  data?: 'gauge' | 'sum' | 'histogram';
  gauge?: { dataPoints?: WireNumberPoint[] };
  sum?: { dataPoints?: WireNumberPoint[] };
  histogram?: { dataPoints?: WireHistogramPoint[] };
}
interface WireMetricsRequest {
  resourceMetrics?: {
    resource?: { attributes?: WireKeyValue[] };
    scopeMetrics?: { scope?: { name: string }; metrics?: WireMetric[] }[];
  }[];
}
interface WireRequest {
  resourceSpans?: {
    resource?: { attributes?: WireKeyValue[] };
    scopeSpans?: { scope?: { name: string; version?: string }; spans?: WireSpan[] }[];
  }[];
}

/**
 * A real OTLP/gRPC trace endpoint on a free loopback port: what the SDK's exporter talks to in production
 * (a collector, Jaeger), reduced to keeping the spans it is sent so that a test can assert them.
 */
export class OtlpTraceReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Metric data points, as exported (cumulative sums and histograms: the latest export holds the totals). */
  readonly dataPoints: ReceivedDataPoint[] = [];
  private readonly received = new EventEmitter();

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
  ) {}

  static async start(port = 0): Promise<OtlpTraceReceiver> {
    const definition = protoLoader.loadSync(['trace-service.proto', 'metrics-service.proto'], {
      includeDirs: [PROTO_DIR],
      keepCase: false,
      longs: String,
      enums: Number,
      defaults: true,
      oneofs: true,
    });
    const proto = grpc.loadPackageDefinition(definition) as unknown as {
      opentelemetry: {
        proto: {
          collector: {
            trace: { v1: { TraceService: { service: grpc.ServiceDefinition } } };
            metrics: { v1: { MetricsService: { service: grpc.ServiceDefinition } } };
          };
        };
      };
    };
    const server = new grpc.Server();
    const pending: WireRequest[] = [];
    const receivers: OtlpTraceReceiver[] = [];
    server.addService(proto.opentelemetry.proto.collector.metrics.v1.MetricsService.service, {
      Export: (call: grpc.ServerUnaryCall<WireMetricsRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        receivers[0]?.acceptMetrics(call.request);
        callback(null, {});
      },
    });
    server.addService(proto.opentelemetry.proto.collector.trace.v1.TraceService.service, {
      Export: (call: grpc.ServerUnaryCall<WireRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        if (receivers[0]) receivers[0].accept(call.request);
        else pending.push(call.request);
        callback(null, {});
      },
    });
    const boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, actualPort) =>
        error ? reject(error) : resolve(actualPort),
      ),
    );
    const receiver = new OtlpTraceReceiver(server, boundPort);
    receivers.push(receiver);
    pending.forEach((request) => receiver.accept(request));
    return receiver;
  }

  /** The value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Resolves with the received spans once `isComplete` accepts them; rejects after `timeoutMs` with what did arrive,
   * so that a failing test shows the spans it got instead of only "timeout".
   */
  async waitFor<T>(isComplete: (spans: ReceivedSpan[]) => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    return waitUntil(this.received, 'spans', () => isComplete(this.spans), {
      timeoutMs,
      what: 'The expected spans',
      describeState: () => this.spans.map((span) => `${span.serviceName} ${span.kind} ${span.name}`).join('\n  ') || '(none)',
    });
  }

  /** Resolves once `isComplete` accepts the data points received; rejects after `timeoutMs` with what did arrive. */
  async waitForMetrics<T>(isComplete: (points: ReceivedDataPoint[]) => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    return waitUntil(this.received, 'metrics', () => isComplete(this.dataPoints), {
      timeoutMs,
      what: 'The expected metrics',
      describeState: () => [...new Set(this.dataPoints.map((point) => `${point.serviceName} ${point.metric}`))].join('\n  ') || '(none)',
    });
  }

  clear(): void {
    this.spans.length = 0;
    this.dataPoints.length = 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private acceptMetrics(request: WireMetricsRequest): void {
    for (const resourceMetrics of request.resourceMetrics ?? []) {
      const serviceName = String(toAttributes(resourceMetrics.resource?.attributes)['service.name']);
      for (const scopeMetrics of resourceMetrics.scopeMetrics ?? []) {
        for (const metric of scopeMetrics.metrics ?? []) {
          this.dataPoints.push(...toReceivedDataPoints(metric, serviceName, scopeMetrics.scope?.name ?? ''));
        }
      }
    }
    this.received.emit('metrics');
  }

  private accept(request: WireRequest): void {
    for (const resourceSpans of request.resourceSpans ?? []) {
      const resource = toAttributes(resourceSpans.resource?.attributes);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          const scope = { name: scopeSpans.scope?.name ?? '', version: scopeSpans.scope?.version ?? '' };
          this.spans.push(toReceivedSpan(span, String(resource['service.name']), scope));
        }
      }
    }
    this.received.emit('spans');
  }
}

function toReceivedDataPoints(metric: WireMetric, serviceName: string, scopeName: string): ReceivedDataPoint[] {
  const common = { serviceName, scopeName, metric: metric.name, unit: metric.unit };
  switch (metric.data) {
    case 'sum':
    case 'gauge':
      return (metric[metric.data]?.dataPoints ?? []).map((point) => ({
        ...common,
        type: metric.data as 'sum' | 'gauge',
        attributes: toAttributes(point.attributes),
        value: point.value === 'asInt' ? Number(point.asInt) : point.asDouble,
      }));
    case 'histogram':
      return (metric.histogram?.dataPoints ?? []).map((point) => ({
        ...common,
        type: 'histogram' as const,
        attributes: toAttributes(point.attributes),
        count: Number(point.count),
        sum: point.sum,
      }));
    default:
      return [];
  }
}

function toReceivedSpan(span: WireSpan, serviceName: string, scope: { name: string; version: string }): ReceivedSpan {
  const parent = span.parentSpanId?.length ? span.parentSpanId.toString('hex') : undefined;
  return {
    serviceName,
    scopeName: scope.name,
    scopeVersion: scope.version,
    traceId: span.traceId.toString('hex'),
    spanId: span.spanId.toString('hex'),
    parentSpanId: parent,
    traceState: span.traceState,
    name: span.name,
    kind: SPAN_KINDS[span.kind] ?? 'UNSPECIFIED',
    startTimeUnixNano: BigInt(span.startTimeUnixNano),
    endTimeUnixNano: BigInt(span.endTimeUnixNano),
    attributes: toAttributes(span.attributes),
    events: (span.events ?? []).map((event) => ({ name: event.name, attributes: toAttributes(event.attributes) })),
    links: (span.links ?? []).map((link) => ({
      traceId: link.traceId.toString('hex'),
      spanId: link.spanId.toString('hex'),
      attributes: toAttributes(link.attributes),
    })),
    status: { code: STATUS_CODES[span.status?.code ?? 0] ?? 'UNSET', message: span.status?.message ?? '' },
  };
}

function toAttributes(keyValues: WireKeyValue[] | undefined): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const { key, value } of keyValues ?? []) {
    attributes[key] = toValue(value);
  }
  return attributes;
}

function toValue(value: WireAnyValue | undefined): AttributeValue {
  switch (value?.value) {
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'intValue':
      return Number(value.intValue);
    case 'doubleValue':
      return value.doubleValue;
    case 'arrayValue':
      return (value.arrayValue?.values ?? []).map(toValue);
    case 'bytesValue':
      return value.bytesValue?.toString('hex');
    default:
      return undefined;
  }
}
