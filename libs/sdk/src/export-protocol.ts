import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { EXPORT_PROTOCOLS, type ExportProtocol } from './worker-export/span-record';

export { EXPORT_PROTOCOLS, type ExportProtocol };

/**
 * The OTLP protocol for traces: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else `grpc`.
 * `http/protobuf` is supported as well; anything else (`http/json` included) is replaced by `grpc`, which
 * checkSdkSettings reports.
 */
export function exportProtocolFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): ExportProtocol {
  const value = env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']?.trim() || env['OTEL_EXPORTER_OTLP_PROTOCOL']?.trim() || 'grpc';
  return (EXPORT_PROTOCOLS as readonly string[]).includes(value) ? (value as ExportProtocol) : 'grpc';
}

/** The standard OTLP trace exporter for `protocol` (`url`: else the exporter's own default and OTEL_* variables). */
export function traceExporter(protocol: ExportProtocol, url?: string): SpanExporter {
  const config = url ? { url } : {};
  return protocol === 'http/protobuf' ? new ProtoTraceExporter(config) : new GrpcTraceExporter(config);
}
