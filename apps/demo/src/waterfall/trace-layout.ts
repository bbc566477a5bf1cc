/** What the waterfall needs of a span: an OTLP span as any receiver decodes it. */
export interface WaterfallSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: string;
  serviceName: string;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  status?: { code: string };
}

/** One line of the waterfall: a span at its place in the tree and on the time axis of its trace. */
export interface WaterfallRow {
  span: WaterfallSpan;
  depth: number;
  /** Box-drawing prefix that draws the tree (`├─ `, `│  └─ `, …). */
  treePrefix: string;
  /** The parent span ran in another service: the context crossed a process boundary to get here. */
  crossesProcess: boolean;
  parentService?: string;
  offsetMs: number;
  durationMs: number;
}

export interface TraceLayout {
  traceId: string;
  totalMs: number;
  rows: WaterfallRow[];
}

function toMs(nanos: bigint): number {
  return Number(nanos / 1000n) / 1000;
}

/**
 * Orders the spans of one trace depth-first, siblings by start time, each with its offset from the trace's start.
 * Spans whose parent is not among them (not exported yet, or dropped) are shown as roots rather than hidden.
 */
export function layoutTrace(spans: readonly WaterfallSpan[]): TraceLayout {
  if (spans.length === 0) throw new Error('layoutTrace: no spans');
  const traceIds = new Set(spans.map((span) => span.traceId));
  if (traceIds.size !== 1) throw new Error(`layoutTrace: spans of ${traceIds.size} traces, expected one`);

  const byId = new Map(spans.map((span) => [span.spanId, span]));
  const children = new Map<string | undefined, WaterfallSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanId && byId.has(span.parentSpanId) ? span.parentSpanId : undefined;
    const siblings = children.get(parent) ?? [];
    siblings.push(span);
    children.set(parent, siblings);
  }
  for (const siblings of children.values()) {
    siblings.sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0));
  }

  const start = spans.reduce((min, span) => (span.startTimeUnixNano < min ? span.startTimeUnixNano : min), spans[0].startTimeUnixNano);
  const end = spans.reduce((max, span) => (span.endTimeUnixNano > max ? span.endTimeUnixNano : max), spans[0].endTimeUnixNano);
  const rows: WaterfallRow[] = [];
  const visit = (span: WaterfallSpan, depth: number, indent: string, isLast: boolean) => {
    const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    rows.push({
      span,
      depth,
      treePrefix: depth === 0 ? '' : `${indent}${isLast ? '└─ ' : '├─ '}`,
      crossesProcess: parent !== undefined && parent.serviceName !== span.serviceName,
      parentService: parent?.serviceName,
      offsetMs: toMs(span.startTimeUnixNano - start),
      durationMs: toMs(span.endTimeUnixNano - span.startTimeUnixNano),
    });
    const kids = children.get(span.spanId) ?? [];
    const childIndent = depth === 0 ? '' : `${indent}${isLast ? '   ' : '│  '}`;
    kids.forEach((child, index) => visit(child, depth + 1, childIndent, index === kids.length - 1));
  };
  (children.get(undefined) ?? []).forEach((root) => visit(root, 0, '', true));
  return { traceId: spans[0].traceId, totalMs: Math.max(toMs(end - start), 0.001), rows };
}

/** `12.3 ms`, `850 µs`, `1.20 s`: three significant figures, the unit a reader expects. */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
