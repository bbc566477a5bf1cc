import { type TraceCarrier, TRACE_CONTEXT_KEYS } from '@nest-redis-otel/tracing';
import { inspectJson, type Rejection } from '@nest-redis-otel/tracing/internal';
import { REPLY_LIST_PREFIX } from './constants';

/** What a stream entry carries: the pattern, the JSON of the data, a request's correlation id and reply list, and
 * the W3C trace context, as flat string fields (a Redis stream entry is a list of field/value pairs). */
export interface StreamMessage {
  pattern: string;
  data: unknown;
  /** Requests only: the correlation id, and the list the reply is pushed to. */
  id?: string;
  reply?: string;
  carrier: TraceCarrier;
}

/** The XADD arguments of `message`, field after value. */
export function entryFields(pattern: string, data: unknown, carrier: TraceCarrier, request?: { id: string; reply: string }): string[] {
  const fields = ['pattern', pattern, 'data', JSON.stringify(data ?? null)];
  if (request) fields.push('id', request.id, 'reply', request.reply);
  for (const key of TRACE_CONTEXT_KEYS) {
    const value = carrier[key];
    if (value !== undefined) fields.push(key, value);
  }
  return fields;
}

/** An entry's size as both sides report it (`messaging.message.envelope.size`): UTF-8 bytes of its fields and values. */
export function entryBytes(fields: readonly string[]): number {
  let bytes = 0;
  for (const field of fields) bytes += Buffer.byteLength(field);
  return bytes;
}

/**
 * Reads an entry's fields as they come off XREADGROUP (`[field, value, field, value, …]`), refusing what no handler
 * should see: too large, no pattern, data refused by the JSON guard both transports share (`inspectJson`: nested
 * deeper than `maxDepth` with the entry as level 1, as a pub/sub packet's envelope is; not JSON; prototype keys), a
 * reply key not ours. Unknown fields are ignored; trace-context values are passed on as strings and capped by the
 * propagation getter.
 */
export function readEntry(
  fields: readonly string[] | null,
  maxBytes: number,
  maxDepth: number,
): { accepted: true; message: StreamMessage; bytes: number } | Rejection {
  if (!fields || fields.length % 2 !== 0) return { accepted: false, kind: 'malformed', reason: 'not a list of field/value pairs' };
  const bytes = entryBytes(fields);
  const values = new Map<string, string>();
  for (let index = 0; index < fields.length; index += 2) values.set(fields[index], fields[index + 1]);
  if (bytes > maxBytes) return { accepted: false, kind: 'too-large', reason: `entry of ${bytes} bytes exceeds the cap of ${maxBytes}` };
  const pattern = values.get('pattern');
  const json = values.get('data');
  if (!pattern || json === undefined) return { accepted: false, kind: 'malformed', reason: 'no "pattern" or no "data" field' };
  const data = inspectJson(json, maxDepth, { name: 'data', envelope: 'entry' });
  if (!data.accepted) return data;
  const carrier: TraceCarrier = {};
  for (const key of TRACE_CONTEXT_KEYS) {
    const value = values.get(key);
    if (value !== undefined) carrier[key] = value;
  }
  const id = values.get('id');
  const reply = values.get('reply');
  if (reply !== undefined && !reply.startsWith(REPLY_LIST_PREFIX)) {
    return { accepted: false, kind: 'malformed', reason: `reply list "${reply.slice(0, 100)}" is not a ${REPLY_LIST_PREFIX}<id> key` };
  }
  return { accepted: true, message: { pattern, data: data.value, carrier, ...(id && reply && { id, reply }) }, bytes };
}
