/** Why a message was refused before any handler saw it. */
export type RejectionKind = 'too-large' | 'not-json' | 'not-an-object' | 'prototype-key' | 'unknown-pattern';

export type Inspection =
  | { accepted: true; message: Record<string, unknown> }
  | { accepted: false; kind: RejectionKind; reason: string };

/** Default cap on a message's size: Redis takes up to 512 MB, no handler here needs more than this. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Checks a message that came off a Redis channel, before Nest parses it: size, JSON, a JSON object at the top, no
 * key that could reach a prototype once the payload is merged or copied somewhere (`__proto__`, or `prototype`
 * under `constructor`), and a `pattern` that matches the channel it came on (unless `channel` is undefined).
 * Parses once; the parsed object is what the handler gets.
 */
export function inspectMessage(raw: string, channel: string | undefined, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): Inspection {
  // Characters take 1 to 3 bytes in UTF-8 (4 for a surrogate pair, which is 2 characters): measure only when needed.
  if (raw.length > maxBytes || (raw.length * 3 > maxBytes && Buffer.byteLength(raw) > maxBytes)) {
    return { accepted: false, kind: 'too-large', reason: `message of ${Buffer.byteLength(raw)} bytes exceeds the cap of ${maxBytes}` };
  }
  let message: unknown;
  let prototypeKey: string | undefined;
  try {
    // Keys spelled with escapes (\u005f…) decode to the same names: only a parse sees them for sure.
    message = mayHidePrototypeKey(raw)
      ? JSON.parse(raw, (key, value: unknown) => {
          prototypeKey ??= prototypePollutionKey(key, value);
          return value;
        })
      : JSON.parse(raw);
  } catch (error) {
    return { accepted: false, kind: 'not-json', reason: `not JSON: ${(error as Error).message}` };
  }
  if (!isObject(message) || Array.isArray(message)) {
    const shape = message === null ? 'null' : Array.isArray(message) ? 'an array' : `a ${typeof message}`;
    return { accepted: false, kind: 'not-an-object', reason: `JSON ${shape}, expected an object` };
  }
  if (prototypeKey) {
    return { accepted: false, kind: 'prototype-key', reason: `carries a "${prototypeKey}" key (prototype pollution attempt)` };
  }
  const pattern = message['pattern'];
  if (channel !== undefined && pattern !== undefined && pattern !== channel) {
    const shown = typeof pattern === 'string' ? `"${pattern.slice(0, 100)}"` : JSON.stringify(pattern)?.slice(0, 100);
    return { accepted: false, kind: 'unknown-pattern', reason: `pattern ${shown} does not match channel "${channel}"` };
  }
  return { accepted: true, message };
}

/**
 * For a `JSON.parse` reviver: the key path (`__proto__`, `constructor.prototype`) through which this key/value pair
 * could reach an object's prototype once the parsed value is merged or copied with assignment, or undefined.
 */
export function prototypePollutionKey(key: string, value: unknown): string | undefined {
  if (key === '__proto__') return '__proto__';
  if (key === 'constructor' && isObject(value) && Object.hasOwn(value, 'prototype')) return 'constructor.prototype';
  return undefined;
}

function mayHidePrototypeKey(raw: string): boolean {
  return raw.includes('__proto__') || raw.includes('prototype') || raw.includes('\\u');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
