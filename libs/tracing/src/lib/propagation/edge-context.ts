import {
  type Context,
  createContextKey,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  propagation,
  trace,
} from '@opentelemetry/api';
import { isMessageCarrierGetter } from './message-carrier';
import { isWellFormedTraceState, withW3CTraceState } from './tracestate-header';

/**
 * What a service at the edge does with the trace context of an incoming HTTP request:
 * - `trust`: continue the caller's trace (its trace id, its sampling decision): for services behind a gateway that
 *   already decided;
 * - `link`: start a new trace, sampled by our own sampler, with a link to the caller's span (the default: a caller
 *   can neither force sampling nor graft our spans onto its trace, and the relation is still visible);
 * - `ignore`: start a new trace, no link.
 */
export type IncomingContextPolicy = 'trust' | 'link' | 'ignore';
export const INCOMING_CONTEXT_POLICIES = ['link', 'trust', 'ignore'] as const;

const TRACESTATE_HEADER = 'tracestate';

/** Where the `link` policy leaves the caller's span context for the SERVER span to link to. */
export const UNTRUSTED_PARENT_KEY = createContextKey('nest-redis-otel untrusted incoming parent');

/** The caller's span context that a span started in `context` should link to (`link` policy), if any. */
export function untrustedParentOf(context: Context): SpanContext | undefined {
  return trace.getSpanContext(context) ? undefined : (context.getValue(UNTRUSTED_PARENT_KEY) as SpanContext | undefined);
}

/**
 * Wraps the global propagator: applies `policy`, the baggage allowlist and the W3C tracestate grammar to context
 * extracted from incoming HTTP requests. Context read from messages (through `untrustedCarrierGetter`) is left to the consumer's own
 * `parentMode`; injection is unchanged.
 */
export class EdgeContextPropagator implements TextMapPropagator {
  constructor(
    private readonly inner: TextMapPropagator,
    private readonly policy: IncomingContextPolicy,
    private readonly baggageAllowlist: ReadonlySet<string> = new Set(),
  ) {}

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    this.inner.inject(context, carrier, setter);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    if (isMessageCarrierGetter(getter)) return this.inner.extract(context, carrier, getter);
    const filtered = wellFormedTraceStateGetter(getter);
    const extracted = withW3CTraceState(this.inner.extract(context, carrier, filtered), filtered.get(carrier, TRACESTATE_HEADER));
    let result = this.allowedBaggage(context, extracted);
    const remote = trace.getSpanContext(extracted);
    if (!remote) return result;
    if (this.policy === 'trust') result = trace.setSpanContext(result, remote);
    else if (this.policy === 'link') result = result.setValue(UNTRUSTED_PARENT_KEY, remote);
    return result;
  }

  fields(): string[] {
    return this.inner.fields();
  }

  private allowedBaggage(context: Context, extracted: Context): Context {
    const baggage = propagation.getBaggage(extracted);
    if (!baggage || this.baggageAllowlist.size === 0) return context;
    const allowed = baggage.getAllEntries().filter(([key]) => this.baggageAllowlist.has(key));
    return allowed.length > 0 ? propagation.setBaggage(context, propagation.createBaggage(Object.fromEntries(allowed))) : context;
  }
}

/**
 * `getter`, except that a `tracestate` the W3C grammar refuses reads as absent: the spec discards it whole, where
 * OpenTelemetry's `TraceState` would keep the members it can read. Repeated header lines are checked as one list.
 */
function wellFormedTraceStateGetter(getter: TextMapGetter): TextMapGetter {
  return {
    keys: (carrier) => getter.keys(carrier),
    get: (carrier, key) => {
      const value = getter.get(carrier, key);
      if (key !== TRACESTATE_HEADER || value === undefined) return value;
      return isWellFormedTraceState(Array.isArray(value) ? value.join(',') : value) ? value : undefined;
    },
  };
}
