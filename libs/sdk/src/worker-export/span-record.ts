import type { Attributes, HrTime, Link, SpanContext, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/*
 * The form in which an ended span crosses from the application's thread to the export worker: a plain object that
 * `postMessage` copies with the structured clone algorithm (no class instances, no functions, no bigints). It holds
 * what OTLP serializes and nothing more. Attributes, events and times are the span's own objects (an ended span no
 * longer changes them): building a record costs the main thread a few property reads, the copy happens in
 * `postMessage`, and the OTLP encoding in the worker.
 */

/** A link, flattened: its span context's fields next to its attributes. */
export interface LinkRecord {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
  traceState?: string;
  attributes?: Attributes;
  droppedAttributesCount?: number;
}

export interface SpanRecord {
  traceId: string;
  spanId: string;
  traceFlags: number;
  /** W3C `tracestate`, serialized. */
  traceState?: string;
  parentSpanId?: string;
  /** Whether the parent came from another process (OTLP span flags). */
  parentIsRemote?: boolean;
  name: string;
  kind: SpanKind;
  /** [seconds, nanoseconds] since the epoch, as the SDK records them. */
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  events: TimedEvent[];
  links: LinkRecord[];
  statusCode: SpanStatusCode;
  statusMessage?: string;
  droppedAttributesCount: number;
  droppedEventsCount: number;
  droppedLinksCount: number;
  /** The resource's id: the worker is sent each resource once (`ResourceMessage`). */
  resource: number;
  /** Index into the batch's `scopes`. */
  scope: number;
}

/** The instrumentation scopes of a batch are sent once per batch, not once per span. */
export type ScopeRecord = InstrumentationScope;

export interface ResourceMessage {
  type: 'resource';
  id: number;
  attributes: Attributes;
  schemaUrl?: string;
}
export interface BatchMessage {
  type: 'batch';
  id: number;
  spans: SpanRecord[];
  scopes: ScopeRecord[];
}
/** Asks for an ack once every batch received before it has been exported (or failed). */
export interface FlushMessage {
  type: 'flush';
  id: number;
}
/** Flush, then shut the exporter down, then ack. */
export interface ShutdownMessage {
  type: 'shutdown';
  id: number;
}
export type ToWorkerMessage = ResourceMessage | BatchMessage | FlushMessage | ShutdownMessage;

/** The worker's answer to a batch: how many spans it held and whether the exporter took them. */
export interface BatchAck {
  type: 'batch-done';
  id: number;
  count: number;
  error?: string;
}
export interface FlushAck {
  type: 'flushed';
  id: number;
}
/** A process warning raised in the worker (its own stderr output is off: the app's log format is the main thread's). */
export interface WorkerWarning {
  type: 'warning';
  text: string;
}

export type FromWorkerMessage = BatchAck | FlushAck | WorkerWarning;

/** What the worker is started with. */
export interface ExportWorkerData {
  protocol: ExportProtocol;
  /** The exporter's URL; unset: the exporter's own default and `OTEL_EXPORTER_OTLP_*` variables. */
  url?: string;
  /** Upper bound of one batch's export (OTEL_BSP_EXPORT_TIMEOUT); the batch is reported failed after it. */
  exportTimeoutMillis: number;
}

export const EXPORT_PROTOCOLS = ['grpc', 'http/protobuf'] as const;
export type ExportProtocol = (typeof EXPORT_PROTOCOLS)[number];

/** The record of an ended span. `scope` is the index of its instrumentation scope in the batch. */
export function toSpanRecord(span: ReadableSpan, resource: number, scope: number): SpanRecord {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    traceFlags: context.traceFlags,
    traceState: context.traceState?.serialize(),
    parentSpanId: parent?.spanId,
    parentIsRemote: parent?.isRemote,
    name: span.name,
    kind: span.kind,
    startTime: span.startTime,
    endTime: span.endTime,
    attributes: span.attributes,
    events: span.events,
    links: span.links.map(toLinkRecord),
    statusCode: span.status.code,
    statusMessage: span.status.message,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
    resource,
    scope,
  };
}

function toLinkRecord(link: Link): LinkRecord {
  return {
    traceId: link.context.traceId,
    spanId: link.context.spanId,
    traceFlags: link.context.traceFlags,
    isRemote: link.context.isRemote,
    traceState: link.context.traceState?.serialize(),
    attributes: link.attributes,
    droppedAttributesCount: link.droppedAttributesCount,
  };
}

/** The worker's side: a ReadableSpan that the OTLP exporters serialize exactly as they would the SDK's own span. */
export function fromSpanRecord(record: SpanRecord, resource: Resource, scope: InstrumentationScope): ReadableSpan {
  const context: SpanContext = {
    traceId: record.traceId,
    spanId: record.spanId,
    traceFlags: record.traceFlags,
    traceState: record.traceState === undefined ? undefined : new TraceState(record.traceState),
  };
  return {
    name: record.name,
    kind: record.kind,
    spanContext: () => context,
    parentSpanContext:
      record.parentSpanId === undefined
        ? undefined
        : { traceId: record.traceId, spanId: record.parentSpanId, traceFlags: record.traceFlags, isRemote: record.parentIsRemote },
    startTime: record.startTime,
    endTime: record.endTime,
    duration: durationOf(record.startTime, record.endTime),
    ended: true,
    status: record.statusMessage === undefined ? { code: record.statusCode } : { code: record.statusCode, message: record.statusMessage },
    attributes: record.attributes,
    events: record.events,
    links: record.links.map((link) => ({
      context: {
        traceId: link.traceId,
        spanId: link.spanId,
        traceFlags: link.traceFlags,
        isRemote: link.isRemote,
        traceState: link.traceState === undefined ? undefined : new TraceState(link.traceState),
      },
      attributes: link.attributes,
      droppedAttributesCount: link.droppedAttributesCount,
    })),
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: record.droppedAttributesCount,
    droppedEventsCount: record.droppedEventsCount,
    droppedLinksCount: record.droppedLinksCount,
  };
}

function durationOf(start: HrTime, end: HrTime): HrTime {
  let seconds = end[0] - start[0];
  let nanos = end[1] - start[1];
  if (nanos < 0) {
    seconds -= 1;
    nanos += 1e9;
  }
  return [seconds, nanos];
}
