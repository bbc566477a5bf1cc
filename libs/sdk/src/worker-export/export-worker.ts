/*
 * The export worker's entry (run by WorkerSpanProcessor in a `worker_threads` Worker, from the compiled
 * `dist/worker-export/export-worker.js`). It turns the span records it is posted back into ReadableSpans and hands
 * them to the standard OTLP exporter, one batch at a time, as the BatchSpanProcessor does; it acks each batch with
 * its result, and each flush once the batches before it are done. It keeps no spans of its own beyond the batches
 * it was posted: the main thread bounds those (spans posted and not acked count against the queue size).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { InstrumentationScope } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { traceExporter } from '../export-protocol';
import { type BatchMessage, type ExportWorkerData, type FromWorkerMessage, fromSpanRecord, type ToWorkerMessage } from './span-record';

const port = parentPort;
if (!port) throw new Error('export-worker runs in a worker thread (WorkerSpanProcessor starts it)');
const settings = workerData as ExportWorkerData;
const exporter: SpanExporter = traceExporter(settings.protocol, settings.url);
const resources = new Map<number, Resource>();
/** Each message is handled after the previous one is done: batches are exported one at a time, flushes wait. */
let queue: Promise<void> = Promise.resolve();

const reply = (message: FromWorkerMessage) => port.postMessage(message);
// Started with --no-warnings: a warning goes to the main thread's log, in the app's format, not to stderr as text.
process.on('warning', (warning) => reply({ type: 'warning', text: `${warning.name}: ${warning.message}` }));

port.on('message', (message: ToWorkerMessage) => {
  switch (message.type) {
    case 'resource':
      // Synchronous, so that the batches after it (posted after it) find it.
      resources.set(message.id, resourceFromAttributes(message.attributes, { schemaUrl: message.schemaUrl }));
      return;
    case 'batch':
      queue = queue.then(() => exportBatch(message));
      return;
    case 'flush':
      queue = queue.then(() => reply({ type: 'flushed', id: message.id }));
      return;
    case 'shutdown':
      queue = queue
        .then(() => exporter.shutdown())
        .catch(() => undefined)
        .then(() => reply({ type: 'flushed', id: message.id }));
      return;
  }
});

async function exportBatch(batch: BatchMessage): Promise<void> {
  const count = batch.spans.length;
  let spans: ReadableSpan[];
  try {
    spans = batch.spans.map((record) => {
      const resource = resources.get(record.resource);
      if (!resource) throw new Error(`span export worker: unknown resource ${record.resource}`);
      return fromSpanRecord(record, resource, batch.scopes[record.scope] as InstrumentationScope);
    });
  } catch (error) {
    reply({ type: 'batch-done', id: batch.id, count, error: describe(error) });
    return;
  }
  const error = await new Promise<string | undefined>((resolve) => {
    // As the BatchSpanProcessor: past OTEL_BSP_EXPORT_TIMEOUT the batch counts as failed and the next one goes.
    const timer = setTimeout(() => resolve(`span export timed out after ${settings.exportTimeoutMillis} ms`), settings.exportTimeoutMillis);
    try {
      exporter.export(spans, (result) => {
        clearTimeout(timer);
        resolve(result.code === ExportResultCode.SUCCESS ? undefined : describe(result.error ?? 'span export failed'));
      });
    } catch (thrown) {
      clearTimeout(timer);
      resolve(describe(thrown));
    }
  });
  reply({ type: 'batch-done', id: batch.id, count, error });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
}
