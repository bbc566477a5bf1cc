import { MAX_TRACESTATE_LENGTH } from '../constants';

/** https://www.w3.org/TR/trace-context/#tracestate-limits */
const MAX_TRACESTATE_MEMBERS = 32;

// https://www.w3.org/TR/trace-context/#key and #value, transcribed from the ABNF:
//   simple-key       = lcalpha 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
//   multi-tenant-key = tenant-id "@" system-id
//   tenant-id        = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
//   system-id        = lcalpha 0*13( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
//   value            = 0*255(chr) nblk-chr;  chr = %x20 / nblk-chr;  nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
const KEY_CHARACTER = '[a-z0-9_\\-*/]';
const SIMPLE_KEY = `[a-z]${KEY_CHARACTER}{0,255}`;
const MULTI_TENANT_KEY = `[a-z0-9]${KEY_CHARACTER}{0,240}@[a-z]${KEY_CHARACTER}{0,13}`;
const VALUE = '[\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,255}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]';
const LIST_MEMBER = new RegExp(`^(${SIMPLE_KEY}|${MULTI_TENANT_KEY})=${VALUE}$`);
/** OWS = *( SP / HTAB ), allowed around the commas; nothing else counts as white space. */
const LIST_SEPARATOR = /[ \t]*,[ \t]*/;
const SURROUNDING_OWS = /^[ \t]+|[ \t]+$/g;

/**
 * Whether a `tracestate` (several header lines joined with commas, as HTTP parsers hand them over) is one the W3C
 * Trace Context Level 1 grammar accepts: every list member well formed, no key twice, at most 32 members, at most
 * 512 characters once the OWS around the commas is left out. Empty list members are allowed and not counted.
 * OpenTelemetry's `TraceState` drops bad members one by one and keeps the rest; the spec wants such a tracestate
 * discarded whole, so callers read it as absent when this says no.
 */
export function isWellFormedTraceState(header: string): boolean {
  const members = header.replace(SURROUNDING_OWS, '').split(LIST_SEPARATOR).filter((member) => member !== '');
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS) return false;
  const keys = new Set<string>();
  let serializedLength = members.length - 1;
  for (const member of members) {
    const match = LIST_MEMBER.exec(member);
    if (!match) return false;
    const key = match[1];
    if (keys.has(key)) return false;
    keys.add(key);
    serializedLength += member.length;
  }
  return serializedLength <= MAX_TRACESTATE_LENGTH;
}
