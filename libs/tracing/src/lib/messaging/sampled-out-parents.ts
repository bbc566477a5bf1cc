import { randomFillSync } from 'node:crypto';
import { type Context, type Span, type SpanContext, TraceFlags, trace } from '@opentelemetry/api';

/**
 * Where the declaration lives: on `globalThis`, as the OpenTelemetry API keeps its globals, so that the bootstrap
 * (loaded with `--import`) and the app's copy of this library agree even where they are two module instances.
 */
const DECLARATION = Symbol.for('@nest-redis-otel/tracing:parent-based-sampling');

type Global = typeof globalThis & { [DECLARATION]?: boolean };

/**
 * Declares that the tracer provider registered for this process samples by the parent and drops every span whose
 * parent is sampled out: the OpenTelemetry `ParentBasedSampler` with its default delegates for sampled-out parents
 * (`AlwaysOffSampler`, local and remote), which is what `OTEL_TRACES_SAMPLER` unset or `parentbased_*` builds.
 * Then the PRODUCER and CONSUMER spans of a message whose parent is sampled out are made without asking the SDK:
 * a non-recording span with the parent's trace id and trace state, a new span id and no flags set, which is what the SDK
 * returns in that case (its sampler would be asked only to say "drop"). The message's trace context still travels,
 * sampled out, so the next hop drops its spans too. `@nest-redis-otel/sdk` declares it from OTEL_TRACES_SAMPLER;
 * a team with its own SDK set-up declares it only if its sampler behaves so. Off by default.
 */
export function declareParentBasedSampling(parentBased: boolean): void {
  (globalThis as Global)[DECLARATION] = parentBased;
}

/** A non-recording span under `parent` when it is sampled out and sampling is declared parent-based, else undefined. */
export function spanUnderSampledOutParent(parent: Context): Span | undefined {
  if ((globalThis as Global)[DECLARATION] !== true) return undefined;
  const parentSpan = trace.getSpanContext(parent);
  if (!parentSpan || (parentSpan.traceFlags & TraceFlags.SAMPLED) !== 0 || !trace.isSpanContextValid(parentSpan)) return undefined;
  // As the SDK: flags from its decision (not sampled), the trace state the parent carried.
  const context: SpanContext = { traceId: parentSpan.traceId, spanId: newSpanId(), traceFlags: TraceFlags.NONE };
  if (parentSpan.traceState) context.traceState = parentSpan.traceState;
  return trace.wrapSpanContext(context);
}

/** Random bytes drawn 2 KiB at a time (one call into the OS's generator per 256 span ids). */
const pool = Buffer.alloc(2048);
let offset = pool.length;

/** 8 random bytes as 16 hex digits, never all zeros (an invalid span id). */
function newSpanId(): string {
  for (;;) {
    if (offset === pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const id = pool.toString('hex', offset, offset + 8);
    offset += 8;
    if (id !== '0000000000000000') return id;
  }
}
