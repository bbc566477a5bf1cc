import { diag } from '@opentelemetry/api';
import {
  CompositePropagator,
  type ErrorHandler,
  setGlobalErrorHandler,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  declareParentBasedSampling,
  EdgeContextPropagator,
  INCOMING_CONTEXT_POLICIES,
  type IncomingContextPolicy,
  RateLimitedLog,
  withTimeout,
} from '@nest-redis-otel/tracing';
import { type BootstrapLog, bootstrapLog, bootstrapLogFormat, routeProcessWarnings } from './bootstrap-log';
import { registerEsmLoaderHook } from './esm-loader-hook';
import { exportProtocolFromEnv, traceExporter } from './export-protocol';
import { checkSdkSettings, dropsUnderSampledOutParent } from './sdk-settings';
import { UntrustedParentLinkProcessor } from './untrusted-parent-link.processor';
import { WorkerSpanProcessor } from './worker-export/worker-span-processor';

const REQUEST_ID_HEADER = 'x-request-id';
const HEALTH_PATH = /^(\/api)?\/health(\?|$)/;

/** Options of `startTracing`. Everything else is read from the standard `OTEL_*` environment variables. */
export interface StartTracingOptions {
  /** `service.name` when `OTEL_SERVICE_NAME` is not set. */
  serviceName: string;
  /** Upper bound of the final flush on shutdown. Default 5000 ms. */
  shutdownTimeoutMs?: number;
  /** Incoming HTTP trace context: `link` (default), `trust` or `ignore`. Default: `INCOMING_TRACE_CONTEXT`. */
  incomingContext?: IncomingContextPolicy;
  /** OpenTelemetry errors (failed exports when the collector is away) are logged at most once per interval. */
  errorLogIntervalMs?: number;
  /** Incoming HTTP baggage keys kept; the rest is dropped. Default: `INCOMING_BAGGAGE_ALLOWLIST` (comma-separated). */
  incomingBaggageAllowlist?: readonly string[];
  /**
   * Where the bootstrap's own lines go (settings it refused, export errors). Default: stdout, as JSON lines shaped like
   * the app's pino lines, or plain text where the app logs `pretty` (see `bootstrapLog`).
   */
  log?: BootstrapLog;
  /**
   * Where spans are encoded and exported: `worker` (default), a worker thread, the application's thread only copying
   * each ended span to it (same OTEL_BSP_* bounds; drops counted); or `main`, the application's thread, with the
   * SDK's BatchSpanProcessor. Default: `OTEL_SPAN_EXPORT_THREAD`, else `worker` (chosen by measurement: the emit
   * loop traced 1.45× faster and its main thread 40 % cheaper; docs/performance.md).
   */
  exportThread?: 'worker' | 'main';
}

/** The running SDK, or a disabled stand-in (`OTEL_SDK_DISABLED=true`). */
export interface TracingHandle {
  readonly isEnabled: boolean;
  /** Flushes buffered spans and stops the SDK; safe to call more than once. */
  shutdown(): Promise<void>;
}

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
const EXPORT_THREADS = ['main', 'worker'] as const;

/**
 * Starts the OpenTelemetry SDK. Must run before the application's modules load (`node --import <bootstrap>`): the
 * instrumentations patch modules as they are loaded, and Nest 12 loads ioredis with `import()`, which only the ESM
 * loader hook registered here can see.
 */
export function startTracing(options: StartTracingOptions): TracingHandle {
  const log = options.log ?? bootstrapLog(process.env['OTEL_SERVICE_NAME'] || options.serviceName);
  if (bootstrapLogFormat() === 'json') routeProcessWarnings(log);
  const problems = checkSdkSettings(process.env);
  problems.forEach((problem) => log(problem.fatal ? 'error' : 'warn', problem.message));
  // The bootstrap runs before the app and its configuration check: stop here, the variable named above.
  if (problems.some((problem) => problem.fatal)) process.exit(1);
  if (isTrue(process.env['OTEL_SDK_DISABLED'])) {
    return { isEnabled: false, shutdown: async () => undefined };
  }
  const incomingContext = options.incomingContext ?? incomingContextFromEnv(log);
  const baggageAllowlist = options.incomingBaggageAllowlist ?? listFromEnv('INCOMING_BAGGAGE_ALLOWLIST');
  registerEsmLoaderHook();

  const sdk = new NodeSDK({
    ...(process.env['OTEL_SERVICE_NAME'] ? {} : { serviceName: options.serviceName }),
    spanProcessors: [
      new UntrustedParentLinkProcessor(),
      exportingProcessor(options.exportThread ?? exportThreadFromEnv(log), options.errorLogIntervalMs ?? 60_000, log),
    ],
    textMapPropagator: new EdgeContextPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
      incomingContext,
      new Set(baggageAllowlist),
    ),
    instrumentations: [
      new HttpInstrumentation({
        // The request id on the SERVER span: find a request's trace in Jaeger by the id its caller saw.
        headersToSpanAttributes: { server: { responseHeaders: [REQUEST_ID_HEADER] } },
        // Health probes (orchestrators poll them every few seconds) are not worth a trace each.
        ignoreIncomingRequestHook: (request) => HEALTH_PATH.test(request.url ?? ''),
      }),
      // For the route in the SERVER span's name and `http.route` only: no span per layer. Nest binds its own
      // middleware as route layers ("request handler"), so a request showed three identical spans before the
      // handler's; the SERVER span covers them all, and each costs the hot path a span.
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.REQUEST_HANDLER, ExpressLayerType.ROUTER],
      }),
      // Only commands made inside a span: a consumer's Redis work, not the connection chatter of idle clients.
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
    // Logs go to stdout (with trace ids, see TracedLoggerModule), not over OTLP: no log exporter is tried.
    logRecordProcessors: [],
    metricReaders: metricReadersFromEnv(log),
  });
  sdk.start();
  // The SDK built its sampler from OTEL_TRACES_SAMPLER: where it drops every span under a sampled-out parent,
  // messaging spans under such a parent are made without asking it (see declareParentBasedSampling).
  declareParentBasedSampling(dropsUnderSampledOutParent(process.env['OTEL_TRACES_SAMPLER']));
  // Without a collector every batch fails: say so once a minute, not once per batch (or, worse, never).
  setGlobalErrorHandler(rateLimitedErrors(options.errorLogIntervalMs ?? 60_000, (line) => log('warn', line)));

  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5000;
  let shutdownPromise: Promise<void> | undefined;
  const shutdown = () =>
    (shutdownPromise ??= withTimeout(sdk.shutdown(), shutdownTimeoutMs).catch((error: unknown) =>
      diag.error('OpenTelemetry SDK shutdown failed', error),
    ));
  installShutdownOnSignals(shutdown);
  // A process that ends on its own (its event loop ran dry) flushes too.
  process.once('beforeExit', () => void shutdown());
  return { isEnabled: true, shutdown };
}

/**
 * On SIGTERM/SIGINT, flush and stop the SDK, then exit. When the application handles the signal too (Nest's
 * `enableShutdownHooks` closes the app, then raises the signal again), the SDK waits for that second signal, so
 * that the spans of the app's last work are flushed rather than dropped.
 */
function installShutdownOnSignals(shutdown: () => Promise<void>): void {
  let isExiting = false;
  for (const signal of SHUTDOWN_SIGNALS) {
    // Stays installed: a signal that arrives while the SDK flushes (a second Ctrl-C, or the app raising the signal
    // again once it closed) must find a listener, or Node's default action would kill the process mid-flush.
    process.on(signal, () => {
      if (process.listenerCount(signal) > 1 || isExiting) return;
      isExiting = true;
      void shutdown().finally(() => process.exit(0));
    });
  }
}

/**
 * The SDK's error handler, rate-limited: the first error is logged, the next ones within `intervalMs` are counted
 * and reported with the next line. The app goes on either way; spans that cannot be exported are dropped once the
 * batch queue is full (OTEL_BSP_MAX_QUEUE_SIZE), which bounds the memory they take.
 */
export function rateLimitedErrors(intervalMs: number, write: (line: string) => void): ErrorHandler {
  const log = new RateLimitedLog(write, intervalMs);
  return (error) => {
    const reason = error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
    log.write('sdk-error', `OpenTelemetry: ${reason}; the service goes on, spans that cannot be exported are dropped`);
  };
}

/**
 * OTLP over gRPC (endpoint from OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, default http://localhost:4317), or over
 * HTTP/protobuf when OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL says so (default http://localhost:4318/v1/traces), batched
 * by OTEL_BSP_*: on the main thread, or in a worker thread (see WorkerSpanProcessor).
 */
function exportingProcessor(thread: 'worker' | 'main', logIntervalMs: number, log: BootstrapLog): SpanProcessor {
  const protocol = exportProtocolFromEnv();
  if (thread === 'worker') return new WorkerSpanProcessor({ protocol, log: (line) => log('warn', line), logIntervalMillis: logIntervalMs });
  return new BatchSpanProcessor(traceExporter(protocol));
}

function exportThreadFromEnv(log: BootstrapLog): 'worker' | 'main' {
  const raw = process.env['OTEL_SPAN_EXPORT_THREAD']?.trim();
  if (!raw) return 'worker';
  if ((EXPORT_THREADS as readonly string[]).includes(raw)) return raw as 'worker' | 'main';
  log('warn', `OTEL_SPAN_EXPORT_THREAD="${raw}" is invalid: expected "worker" or "main"; using worker`);
  return 'worker';
}

/**
 * Metrics over OTLP gRPC next to the traces (OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT), every OTEL_METRIC_EXPORT_INTERVAL
 * ms (default 60000) with OTEL_METRIC_EXPORT_TIMEOUT (default 30000, at most the interval), unless
 * OTEL_METRICS_EXPORTER=none. Built here because the SDK's own default is OTLP over HTTP. Invalid values are
 * reported and replaced by the default, as the SDK does with the OTEL_* settings it reads itself.
 */
function metricReadersFromEnv(log: BootstrapLog): PeriodicExportingMetricReader[] {
  const exporters = listFromEnv('OTEL_METRICS_EXPORTER');
  if (exporters.includes('none')) return [];
  const unsupported = exporters.filter((name) => name !== 'otlp');
  if (unsupported.length > 0) {
    log('warn', `OTEL_METRICS_EXPORTER="${unsupported.join(',')}" is not supported here: expected "otlp" or "none"; using "otlp"`);
  }
  const exportIntervalMillis = positiveMillisFromEnv('OTEL_METRIC_EXPORT_INTERVAL', 60_000, log);
  const exportTimeoutMillis = Math.min(positiveMillisFromEnv('OTEL_METRIC_EXPORT_TIMEOUT', 30_000, log), exportIntervalMillis);
  return [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis, exportTimeoutMillis })];
}

function positiveMillisFromEnv(name: string, fallback: number, log: BootstrapLog): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (Number.isSafeInteger(value) && value > 0) return value;
  log('warn', `${name}="${raw}" is invalid: expected a positive integer (milliseconds); using ${fallback}`);
  return fallback;
}

function incomingContextFromEnv(log: BootstrapLog): IncomingContextPolicy {
  const value = process.env['INCOMING_TRACE_CONTEXT']?.trim() || INCOMING_CONTEXT_POLICIES[0];
  if ((INCOMING_CONTEXT_POLICIES as readonly string[]).includes(value)) return value as IncomingContextPolicy;
  // The bootstrap runs before the app and its configuration check: stop here, naming the variable.
  log('error', `INCOMING_TRACE_CONTEXT="${value}" is invalid: expected "link", "trust" or "ignore"`);
  process.exit(1);
}

function listFromEnv(name: string): string[] {
  return (process.env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function isTrue(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'true';
}
