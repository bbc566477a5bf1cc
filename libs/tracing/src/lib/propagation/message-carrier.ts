import { type Context, type TextMapGetter, defaultTextMapSetter, propagation } from '@opentelemetry/api';
import {
  MAX_BAGGAGE_LENGTH,
  MAX_BAGGAGE_MEMBERS,
  MAX_TRACEPARENT_LENGTH,
  MAX_TRACESTATE_LENGTH,
  TRACE_CONTEXT_KEYS,
} from '../constants';
import { isWellFormedTraceState } from './tracestate-header';

/** The W3C trace context of one message, as strings keyed `traceparent`, `tracestate`, `baggage`. */
export type TraceCarrier = Partial<Record<(typeof TRACE_CONTEXT_KEYS)[number], string>>;

const MAX_LENGTH: Record<string, number> = {
  traceparent: MAX_TRACEPARENT_LENGTH,
  tracestate: MAX_TRACESTATE_LENGTH,
  baggage: MAX_BAGGAGE_LENGTH,
};

/**
 * Marks the getter that reads context from messages, for `EdgeContextPropagator` to tell messages from HTTP
 * requests. A registered symbol: the SDK bootstrap and the app are separate bundles, each with its own copy of
 * this module, so the getter object itself cannot be compared.
 */
export const MESSAGE_CARRIER_GETTER = Symbol.for('@nest-redis-otel/tracing message carrier getter');

/** Whether `getter` reads trace context from a message (rather than, say, HTTP headers). */
export function isMessageCarrierGetter(getter: unknown): boolean {
  return typeof getter === 'object' && getter !== null && (getter as Record<symbol, unknown>)[MESSAGE_CARRIER_GETTER] === true;
}

/**
 * Reads trace context from a carrier that came over the wire and may be anything: only own string properties
 * within the W3C size limits (and, for `tracestate`, its grammar) are seen; everything else reads as absent, so that the propagators fall back to
 * "no parent" instead of parsing hostile input.
 */
export const untrustedCarrierGetter: TextMapGetter<unknown> & { readonly [MESSAGE_CARRIER_GETTER]: true } = {
  [MESSAGE_CARRIER_GETTER]: true,
  keys: (carrier) => (isRecord(carrier) ? Object.keys(carrier).filter((key) => Object.hasOwn(MAX_LENGTH, key)) : []),
  get: (carrier, key) => readTraceField(carrier, key),
};

function readTraceField(carrier: unknown, key: string): string | undefined {
  const maxLength = Object.hasOwn(MAX_LENGTH, key) ? MAX_LENGTH[key] : undefined;
  if (maxLength === undefined || !isRecord(carrier) || !Object.hasOwn(carrier, key)) return undefined;
  const value = carrier[key];
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) return undefined;
  if (key === 'tracestate') return isWellFormedTraceState(value) ? value : undefined;
  return key === 'baggage' ? capBaggage(value) : value;
}

/**
 * The W3C limits of a baggage, in bytes and members (https://www.w3.org/TR/baggage/#limits): over 8192 bytes it is
 * ignored; over 180 members only the first 180 are read.
 */
function capBaggage(value: string): string | undefined {
  // Only non-ASCII characters make the byte count exceed the character count, which was checked already.
  if (!isAscii(value) && Buffer.byteLength(value) > MAX_BAGGAGE_LENGTH) return undefined;
  let members = 1;
  for (let index = value.indexOf(','); index !== -1; index = value.indexOf(',', index + 1)) {
    if (++members > MAX_BAGGAGE_MEMBERS) return value.slice(0, index);
  }
  return value;
}

function isAscii(value: string): boolean {
  return !/[\u0080-\uffff]/.test(value);
}

/** Writes `context`'s trace context (and baggage) into a new carrier through the global propagator. */
export function injectTraceCarrier(context: Context): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(context, carrier, defaultTextMapSetter);
  return carrier;
}

/**
 * Picks the W3C keys from the top level of a message that is not a Nest packet: the layout of the Python
 * tutorial this product descends from, where the publisher calls `inject(carrier)` and merges it into the payload.
 */
export function traceCarrierFromTopLevel(message: unknown): TraceCarrier {
  const carrier: TraceCarrier = {};
  for (const key of TRACE_CONTEXT_KEYS) {
    const value = readTraceField(message, key);
    if (value !== undefined) carrier[key] = value;
  }
  return carrier;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
