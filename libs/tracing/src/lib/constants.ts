import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package's manifest: two folders up from here both in the sources (src/lib) and in the build (dist/lib). */
const PACKAGE = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { name: string; version: string };

/** Name and version of the instrumentation scope of this library's spans and metrics: the package's own. */
export const TRACER_NAME = PACKAGE.name;
export const TRACER_VERSION = PACKAGE.version;

/** The W3C keys a message may carry: in the packet's `metadata`, or at the top level of a raw JSON message. */
export const TRACE_CONTEXT_KEYS = ['traceparent', 'tracestate', 'baggage'] as const;

/**
 * Caps applied when reading context from a message. The stock W3C propagators cap only what they inject; a message
 * comes from anyone who can PUBLISH, so oversized values are ignored on extract too.
 * https://www.w3.org/TR/trace-context/#tracestate-header-field-values, https://www.w3.org/TR/baggage/#limits
 */
export const MAX_TRACEPARENT_LENGTH = 55;
export const MAX_TRACESTATE_LENGTH = 512;
export const MAX_BAGGAGE_LENGTH = 8192;
export const MAX_BAGGAGE_MEMBERS = 180;

/** Default length cap of a captured payload field (see `payloadCapture`). */
export const DEFAULT_PAYLOAD_FIELD_MAX_LENGTH = 256;
/** Prefix of the span attributes that hold captured payload fields. */
export const PAYLOAD_ATTRIBUTE_PREFIX = 'messaging.payload.';

export const DEFAULT_REDIS_URL = 'redis://localhost:6379';
/** Delay between reconnection attempts to Redis. */
export const DEFAULT_REDIS_RETRY_DELAY_MS = 1000;
