import type { ReceivedSpan } from './otlp-trace.receiver';

/** The one span matching `where`; throws, listing what there is, when there is none or several. */
export function findSpan(spans: ReceivedSpan[], where: Partial<Pick<ReceivedSpan, 'serviceName' | 'name' | 'kind' | 'traceId' | 'parentSpanId'>>): ReceivedSpan {
  const matches = spans.filter((span) =>
    Object.entries(where).every(([key, value]) => span[key as keyof ReceivedSpan] === value),
  );
  if (matches.length !== 1) {
    throw new Error(
      `Expected exactly one span matching ${JSON.stringify(where)}, found ${matches.length} among:\n  ` +
        spanTree(spans),
    );
  }
  return matches[0];
}

/** The spans as an indented tree per trace, for error messages. */
export function spanTree(spans: ReceivedSpan[]): string {
  const ids = new Set(spans.map((span) => span.spanId));
  const children = (parent: string | undefined) =>
    spans.filter((span) => (parent === undefined ? !span.parentSpanId || !ids.has(span.parentSpanId) : span.parentSpanId === parent));
  const lines: string[] = [];
  const walk = (span: ReceivedSpan, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${span.serviceName} ${span.kind} ${span.name} [${span.traceId.slice(0, 8)}/${span.spanId.slice(0, 8)}]`);
    children(span.spanId).forEach((child) => walk(child, depth + 1));
  };
  children(undefined).forEach((root) => walk(root, 0));
  return lines.join('\n  ');
}

/** The top of `span`'s ancestry among `trace`: the span whose parent is not in the trace. */
export function rootOf(trace: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan {
  const byId = new Map(trace.map((candidate) => [candidate.spanId, candidate]));
  let current = span;
  while (current.parentSpanId && byId.has(current.parentSpanId)) current = byId.get(current.parentSpanId) as ReceivedSpan;
  return current;
}
