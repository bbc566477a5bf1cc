import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Context, diag, TraceFlags } from '@opentelemetry/api';
import { getNumberFromEnv, globalErrorHandler, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RateLimitedLog } from '@nest-redis-otel/tracing';
import { exportProtocolFromEnv } from '../export-protocol';
import {
  type BatchMessage,
  type ExportProtocol,
  type ExportWorkerData,
  type FromWorkerMessage,
  type ScopeRecord,
  type SpanRecord,
  toSpanRecord,
  type ToWorkerMessage,
} from './span-record';

/** The hand-off bound when OTEL_BSP_MAX_QUEUE_SIZE is not set (see `maxQueueSize`). */
const DEFAULT_MAX_QUEUE_SIZE = 8192;

/** Options of WorkerSpanProcessor; the batch settings default as the BatchSpanProcessor's do (OTEL_BSP_*). */
export interface WorkerSpanProcessorOptions {
  /** Default: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL, else `grpc`. */
  protocol?: ExportProtocol;
  /** The exporter's URL. Default: the exporter's own (OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, localhost). */
  url?: string;
  /**
   * Spans buffered here plus spans posted to the worker and not yet exported. OTEL_BSP_MAX_QUEUE_SIZE, else 8192:
   * four times the BatchSpanProcessor's 2048, whose queue does not count the batch being exported, as this bound
   * does; with 2048 the bench lost 0.9 % of the spans to a live collector in bursts the worker absorbs with 8192
   * (docs/performance.md). A span record is a few hundred bytes.
   */
  maxQueueSize?: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512 (at most maxQueueSize). */
  maxExportBatchSize?: number;
  /** How long a batch that is not full waits. OTEL_BSP_SCHEDULE_DELAY, 5000 ms. */
  scheduledDelayMillis?: number;
  /** Upper bound of one batch's export in the worker, and of a flush's wait. OTEL_BSP_EXPORT_TIMEOUT, 30000 ms. */
  exportTimeoutMillis?: number;
  /** A dead worker is replaced, at most once per this interval. Default 5000 ms. */
  workerRestartDelayMillis?: number;
  /** Where drops and worker deaths are reported, at most once per `logIntervalMillis`. Default: `diag.warn`. */
  log?: (line: string) => void;
  /** Default 60000 ms. */
  logIntervalMillis?: number;
}

interface PostedBatch {
  count: number;
  worker: Worker;
}

interface FlushRequest {
  worker: Worker;
  resolve: () => void;
}

/**
 * A span processor that exports from a worker thread: the application's thread only turns each ended span into a
 * plain record (span-record.ts) and posts batches of them; the OTLP encoding, the network and the exporter's retries
 * happen in the worker (export-worker.ts), with the standard OTLP exporter (gRPC, or HTTP/protobuf).
 *
 * Bounded hand-off: the spans buffered here plus those posted and not yet acknowledged by the worker never exceed
 * `maxQueueSize`; a span beyond is dropped and counted (`droppedSpans`), as the BatchSpanProcessor drops when its
 * queue is full. With the collector away, the worker's exports time out one batch after the other, its acks slow
 * down, and the app's spans are dropped at the bound: memory stays bounded, and `onEnd` never waits.
 *
 * A dead worker (it threw, exited, or was terminated): the spans it held (posted, not acknowledged) are counted as
 * dropped — some may have reached the collector just before the worker died, between its export and its ack — the death is logged
 * (rate-limited), and the worker is replaced — at once if the previous one started at least `workerRestartDelayMillis`
 * ago, otherwise when that interval has passed, so that a worker that cannot start costs one thread start per interval,
 * not a loop. Meanwhile the spans wait here, within the same bound.
 *
 * The worker is `unref`'d: it never keeps the process alive, except while a flush or shutdown waits for it.
 */
export class WorkerSpanProcessor implements SpanProcessor {
  private readonly protocol: ExportProtocol;
  private readonly url: string | undefined;
  private readonly maxQueueSize: number;
  private readonly maxExportBatchSize: number;
  private readonly scheduledDelayMillis: number;
  private readonly exportTimeoutMillis: number;
  private readonly workerRestartDelayMillis: number;
  private readonly log: RateLimitedLog;
  private readonly workerFile = exportWorkerFile();

  private worker: Worker | undefined;
  private workerStartedAt = -Infinity;
  private restartTimer: NodeJS.Timeout | undefined;
  private batchTimer: NodeJS.Timeout | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private nextId = 1;

  /** The batch being filled. */
  private spans: SpanRecord[] = [];
  private scopes: ScopeRecord[] = [];
  private scopeIndex = new Map<InstrumentationScope, number>();

  private readonly resourceIds = new Map<Resource, number>();
  private readonly resources: Resource[] = [];
  /** Resources the current worker has been sent. */
  private resourcesSent = new Set<number>();

  private readonly posted = new Map<number, PostedBatch>();
  private postedSpans = 0;
  /** Batches whose resources still wait for their async attributes. */
  private readonly deferredPosts = new Set<Promise<void>>();
  private readonly flushes = new Map<number, FlushRequest>();

  private dropped = 0;
  private failed = 0;
  private exported = 0;
  private starts = 0;

  constructor(options: WorkerSpanProcessorOptions = {}) {
    this.protocol = options.protocol ?? exportProtocolFromEnv();
    this.url = options.url;
    this.maxQueueSize = options.maxQueueSize ?? getNumberFromEnv('OTEL_BSP_MAX_QUEUE_SIZE') ?? DEFAULT_MAX_QUEUE_SIZE;
    this.maxExportBatchSize = Math.min(
      options.maxExportBatchSize ?? getNumberFromEnv('OTEL_BSP_MAX_EXPORT_BATCH_SIZE') ?? 512,
      this.maxQueueSize,
    );
    this.scheduledDelayMillis = options.scheduledDelayMillis ?? getNumberFromEnv('OTEL_BSP_SCHEDULE_DELAY') ?? 5000;
    this.exportTimeoutMillis = options.exportTimeoutMillis ?? getNumberFromEnv('OTEL_BSP_EXPORT_TIMEOUT') ?? 30_000;
    this.workerRestartDelayMillis = options.workerRestartDelayMillis ?? 5000;
    this.log = new RateLimitedLog(options.log ?? ((line) => diag.warn(line)), options.logIntervalMillis ?? 60_000);
    this.startWorker();
  }

  /** Spans dropped: the queue was full, or the worker died holding them. */
  get droppedSpans(): number {
    return this.dropped;
  }

  /** Spans the exporter reported as not exported (collector away, timeout). */
  get failedSpans(): number {
    return this.failed;
  }

  /** Spans the exporter reported as exported. */
  get exportedSpans(): number {
    return this.exported;
  }

  /** Spans buffered here or posted to the worker and not yet acknowledged: at most `maxQueueSize`. */
  get queuedSpans(): number {
    return this.spans.length + this.postedSpans;
  }

  /** How many workers were started (1 + restarts). */
  get workerStarts(): number {
    return this.starts;
  }

  onStart(_span: Span, _parentContext: Context): void {
    // Nothing to do before the span ends.
  }

  onEnd(span: ReadableSpan): void {
    if (this.shutdownPromise || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.spans.length + this.postedSpans >= this.maxQueueSize) {
      this.dropped++;
      this.log.write(
        'dropped',
        `OpenTelemetry: the span queue is full (${this.maxQueueSize} spans waiting for the export worker); ` +
          `spans are dropped, ${this.dropped} so far`,
      );
      return;
    }
    this.spans.push(toSpanRecord(span, this.resourceIdOf(span.resource), this.scopeIndexOf(span.instrumentationScope)));
    if (this.spans.length >= this.maxExportBatchSize) this.postBatch();
    else this.batchTimer ??= unrefTimer(() => this.onBatchTimer(), this.scheduledDelayMillis);
  }

  forceFlush(): Promise<void> {
    if (this.shutdownPromise) return this.shutdownPromise;
    return this.flush('flush');
  }

  shutdown(): Promise<void> {
    return (this.shutdownPromise ??= this.flush('shutdown').finally(() => {
      clearTimeout(this.batchTimer);
      clearTimeout(this.restartTimer);
      const worker = this.worker;
      this.worker = undefined;
      if (worker) return worker.terminate().then(() => undefined);
      return undefined;
    }));
  }

  /** Test hook: terminates the worker as a crash would end it, and resolves once its exit was handled. */
  async terminateWorkerForTest(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => setImmediate(resolve)));
    await worker.terminate();
    await exited;
  }

  private async flush(type: 'flush' | 'shutdown'): Promise<void> {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    while (this.spans.length > 0 && this.worker) this.postBatch();
    await Promise.all(this.deferredPosts);
    const worker = this.worker;
    if (!worker) {
      if (type === 'shutdown') this.dropBuffered('the export worker is not running at shutdown');
      return;
    }
    const id = this.nextId++;
    worker.ref();
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.flushes.delete(id);
          this.log.write('flush-timeout', `OpenTelemetry: the span export worker did not finish a ${type} within ${this.exportTimeoutMillis} ms`);
          resolve();
        }, this.exportTimeoutMillis);
        this.flushes.set(id, {
          worker,
          resolve: () => {
            clearTimeout(timer);
            this.flushes.delete(id);
            resolve();
          },
        });
        this.post(worker, { type, id });
      });
    } finally {
      if (this.flushes.size === 0 && this.worker === worker) worker.unref();
    }
  }

  private onBatchTimer(): void {
    this.batchTimer = undefined;
    if (this.spans.length === 0) return;
    if (this.worker) this.postBatch();
    // No worker now: the restart timer posts them once a worker is back.
  }

  /** Posts the spans buffered (up to a batch), or leaves them buffered when no worker runs. */
  private postBatch(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const worker = this.worker;
    if (!worker || this.spans.length === 0) return;
    const spans = this.spans.length <= this.maxExportBatchSize ? this.spans : this.spans.splice(0, this.maxExportBatchSize);
    if (spans === this.spans) this.spans = [];
    const batch: BatchMessage = { type: 'batch', id: this.nextId++, spans, scopes: this.scopes };
    // Scope indexes are per batch: a new table when the buffer is empty; a remainder keeps the current one.
    if (this.spans.length === 0) {
      this.scopes = [];
      this.scopeIndex = new Map();
    }
    this.posted.set(batch.id, { count: spans.length, worker });
    this.postedSpans += spans.length;
    if (this.spans.length > 0) this.batchTimer = unrefTimer(() => this.onBatchTimer(), this.scheduledDelayMillis);

    const pending = this.unsentResources(spans).filter((id) => this.resources[id]?.asyncAttributesPending);
    if (pending.length === 0) {
      this.sendResourcesAndPost(worker, batch);
      return;
    }
    // As the BatchSpanProcessor: a resource whose detectors are still running is awaited before the export.
    const deferred = Promise.all(pending.map((id) => this.resources[id]?.waitForAsyncAttributes?.()))
      .then(
        () => {
          if (this.worker === worker) this.sendResourcesAndPost(worker, batch);
        },
        (error: unknown) => {
          globalErrorHandler(error as Error);
          this.settle(batch.id, 'resource attributes failed');
        },
      )
      .finally(() => this.deferredPosts.delete(deferred));
    this.deferredPosts.add(deferred);
  }

  private sendResourcesAndPost(worker: Worker, batch: BatchMessage): void {
    for (const id of this.unsentResources(batch.spans)) {
      const resource = this.resources[id];
      if (!resource) continue;
      this.post(worker, { type: 'resource', id, attributes: resource.attributes, schemaUrl: resource.schemaUrl });
      this.resourcesSent.add(id);
    }
    try {
      worker.postMessage(batch);
    } catch (error) {
      // An attribute value that cannot be cloned (the API allows only primitives and arrays of them).
      globalErrorHandler(error as Error);
      this.settle(batch.id, 'the batch could not be posted to the export worker');
    }
  }

  private post(worker: Worker, message: ToWorkerMessage): void {
    worker.postMessage(message);
  }

  private unsentResources(spans: SpanRecord[]): number[] {
    const ids = new Set<number>();
    for (const span of spans) if (!this.resourcesSent.has(span.resource)) ids.add(span.resource);
    return [...ids];
  }

  private resourceIdOf(resource: Resource): number {
    let id = this.resourceIds.get(resource);
    if (id === undefined) {
      id = this.resources.length;
      this.resources.push(resource);
      this.resourceIds.set(resource, id);
    }
    return id;
  }

  private scopeIndexOf(scope: InstrumentationScope): number {
    let index = this.scopeIndex.get(scope);
    if (index === undefined) {
      index = this.scopes.length;
      this.scopes.push({ name: scope.name, version: scope.version, schemaUrl: scope.schemaUrl });
      this.scopeIndex.set(scope, index);
    }
    return index;
  }

  /** A batch is done: its spans free their queue slots; a failure is reported as the BatchSpanProcessor does. */
  private settle(batchId: number, error: string | undefined): void {
    const batch = this.posted.get(batchId);
    if (!batch) return;
    this.posted.delete(batchId);
    this.postedSpans -= batch.count;
    if (error === undefined) {
      this.exported += batch.count;
    } else {
      this.failed += batch.count;
      globalErrorHandler(new Error(error));
    }
  }

  private onMessage(message: FromWorkerMessage): void {
    if (message.type === 'batch-done') this.settle(message.id, message.error);
    else if (message.type === 'warning') this.log.write(`worker-warning ${message.text}`, `OpenTelemetry span export worker: ${message.text}`);
    else this.flushes.get(message.id)?.resolve();
  }

  private startWorker(): void {
    this.restartTimer = undefined;
    if (this.shutdownPromise) return;
    const workerData: ExportWorkerData = { protocol: this.protocol, url: this.url, exportTimeoutMillis: this.exportTimeoutMillis };
    // Set before the attempt: a worker that cannot even be created is retried after the delay too.
    this.workerStartedAt = performance.now();
    let worker: Worker;
    try {
      // Not the app's execArgv: the worker must not inherit `--import <bootstrap>`, which would start tracing in it.
      // No warnings printed as text: the worker forwards them to the log (the main thread prints its own, e.g. about
      // NO_COLOR and FORCE_COLOR both set, once).
      worker = new Worker(this.workerFile, { workerData, execArgv: ['--no-warnings'] });
    } catch (error) {
      this.onWorkerExit(undefined, error);
      return;
    }
    this.starts++;
    this.worker = worker;
    this.resourcesSent = new Set();
    worker.unref();
    let failure: unknown;
    worker.on('message', (message: FromWorkerMessage) => this.onMessage(message));
    worker.on('error', (error) => (failure = error));
    worker.on('exit', (code) => this.onWorkerExit(worker, failure ?? `exit code ${code}`));
    // Spans that waited for this worker.
    if (this.spans.length > 0) this.batchTimer ??= unrefTimer(() => this.onBatchTimer(), 0);
  }

  private onWorkerExit(worker: Worker | undefined, reason: unknown): void {
    if (worker && this.worker !== worker) return; // terminated by shutdown
    this.worker = undefined;
    let lost = 0;
    for (const [id, batch] of this.posted) {
      if (batch.worker !== worker) continue;
      this.posted.delete(id);
      this.postedSpans -= batch.count;
      lost += batch.count;
    }
    this.dropped += lost;
    for (const [id, flush] of this.flushes) {
      if (flush.worker !== worker) continue;
      this.flushes.delete(id);
      flush.resolve();
    }
    const wait = Math.max(0, this.workerStartedAt + this.workerRestartDelayMillis - performance.now());
    this.log.write(
      'worker-exit',
      `OpenTelemetry: the span export worker stopped (${describe(reason)}); ${lost} spans it held are dropped; ` +
        `it is restarted ${wait > 0 ? `in ${Math.ceil(wait)} ms` : 'now'}`,
    );
    if (this.shutdownPromise) return;
    if (wait === 0) this.startWorker();
    else this.restartTimer = unrefTimer(() => this.startWorker(), wait);
  }

  private dropBuffered(reason: string): void {
    if (this.spans.length === 0) return;
    this.dropped += this.spans.length;
    this.log.write('dropped-at-shutdown', `OpenTelemetry: ${this.spans.length} spans dropped: ${reason}`);
    this.spans = [];
  }
}

/**
 * The worker's entry, compiled: next to this file in the package (dist/worker-export/). Run from the TypeScript
 * sources (Jest with @swc), this module is a .ts file that a worker thread cannot load, so the package's build is used:
 * `test` depends on `build` (project.json).
 */
function exportWorkerFile(): string {
  const file = __filename.endsWith('.ts')
    ? join(__dirname, '..', '..', 'dist', 'worker-export', 'export-worker.js')
    : join(__dirname, 'export-worker.js');
  if (!existsSync(file)) {
    throw new Error(`WorkerSpanProcessor: the export worker ${file} is missing; build the package first (npx nx run sdk:build)`);
  }
  return file;
}

function unrefTimer(callback: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(callback, ms);
  timer.unref();
  return timer;
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
