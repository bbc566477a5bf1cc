import { type Context, trace, type TraceState } from '@opentelemetry/api';
import { MAX_TRACESTATE_LENGTH } from '../constants';

/** https://www.w3.org/TR/trace-context/#tracestate-limits */
const MAX_TRACESTATE_MEMBERS = 32;

// The grammar of the W3C Trace Context editor's draft (w3c/trace-context, spec/20-http_request_header_format.md),
// which the W3C test suite checks at STRICT_LEVEL=2 (commit acab820, "Fix tracestate key grammar tests"):
//   key      = ( lcalpha / DIGIT ) 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" )
//   value    = 0*255(chr) nblk-chr;  chr = %x20 / nblk-chr;  nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
// Level 1 (the 2021 Recommendation) split keys into simple and multi-tenant (`tenant@system`) forms; the draft
// accepts every key Level 1 accepts, and more (`foo@`, `t…t@v` with a 242-character tenant).
const KEY = '[a-z0-9][a-z0-9_\\-*/@]{0,255}';
const VALUE = '[\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,255}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]';
const LIST_MEMBER = new RegExp(`^(${KEY})=(${VALUE})$`);
/** OWS = *( SP / HTAB ), allowed around the commas; nothing else counts as white space. */
const LIST_SEPARATOR = /[ \t]*,[ \t]*/;
const SURROUNDING_OWS = /^[ \t]+|[ \t]+$/g;

/**
 * A `tracestate` as the W3C grammar reads it (several header lines joined with commas, as HTTP parsers hand them
 * over), or undefined when it must be discarded whole: a malformed list member, more than 32 members, more than 512
 * characters once the OWS around the commas is left out, or no member at all. A key that comes twice is kept once
 * (the first), as the spec allows. OpenTelemetry's own `TraceState` follows the Level 1 key grammar and drops the
 * members it cannot read one by one, keeping the rest; this one is what the propagated context carries instead.
 */
export function parseTraceState(header: string): W3CTraceState | undefined {
  const members = header.replace(SURROUNDING_OWS, '').split(LIST_SEPARATOR).filter((member) => member !== '');
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS) return undefined;
  const entries = new Map<string, string>();
  let serializedLength = members.length - 1;
  for (const member of members) {
    const match = LIST_MEMBER.exec(member);
    if (!match) return undefined;
    if (!entries.has(match[1])) entries.set(match[1], match[2]);
    serializedLength += member.length;
  }
  return serializedLength <= MAX_TRACESTATE_LENGTH ? new W3CTraceState([...entries]) : undefined;
}

/** Whether `parseTraceState` accepts `header`. */
export function isWellFormedTraceState(header: string): boolean {
  return parseTraceState(header) !== undefined;
}

/**
 * The span context of `context` with its `tracestate` read from `header` by the W3C grammar (`parseTraceState`):
 * none when the header is absent or must be discarded. Unchanged when `context` carries no span context.
 */
export function withW3CTraceState(context: Context, header: string | string[] | undefined): Context {
  const spanContext = trace.getSpanContext(context);
  if (!spanContext) return context;
  // No header and none read: nothing to replace (a new context per message is not free).
  if (header === undefined && spanContext.traceState === undefined) return context;
  const traceState = header === undefined ? undefined : parseTraceState(Array.isArray(header) ? header.join(',') : header);
  return trace.setSpanContext(context, { ...spanContext, traceState });
}

/** An immutable `tracestate`, in list order; `set` moves a key to the front, as the spec wants of an updated key. */
export class W3CTraceState implements TraceState {
  constructor(private readonly entries: ReadonlyArray<readonly [string, string]>) {}

  get(key: string): string | undefined {
    return this.entries.find(([candidate]) => candidate === key)?.[1];
  }

  set(key: string, value: string): TraceState {
    if (!LIST_MEMBER.test(`${key}=${value}`)) return this;
    const others = this.entries.filter(([candidate]) => candidate !== key);
    return new W3CTraceState([[key, value] as const, ...others].slice(0, MAX_TRACESTATE_MEMBERS));
  }

  unset(key: string): TraceState {
    return new W3CTraceState(this.entries.filter(([candidate]) => candidate !== key));
  }

  serialize(): string {
    return this.entries.map(([key, value]) => `${key}=${value}`).join(',');
  }
}
