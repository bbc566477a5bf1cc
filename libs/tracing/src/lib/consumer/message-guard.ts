/**
 * Why a message was refused, on either transport: by the guard before any parse or handler (the first six), or by
 * the server around its handler.
 */
export type RejectionKind =
  | 'too-large'
  | 'too-deep'
  | 'not-json'
  | 'not-an-object'
  | 'prototype-key'
  | 'unknown-pattern'
  /** Not a message of ours: a stream entry without pattern or data, a reply key not ours, a deadline that is not a time. */
  | 'malformed'
  /** Arrived after its producer's deadline. */
  | 'expired'
  /** Delivered more times than allowed, never handled (Streams). */
  | 'poison'
  /** Its payload broke the contract (`InvalidPayloadException`, from a pipe). */
  | 'invalid-payload';

export type Rejection = { accepted: false; kind: RejectionKind; reason: string };

export type Inspection = { accepted: true; message: Record<string, unknown> } | Rejection;

/** The JSON checked is a part of a larger message (a stream entry's `data`): reasons name it, and its envelope counts as a level. */
export interface JsonPart {
  name: string;
  envelope: string;
}

/** Default cap on a message's size: Redis takes up to 512 MB, no handler here needs more than this. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Default cap on how deeply a message's JSON nests objects and arrays (the envelope is level 1). Deeper values are
 * harmless to parse but not to use: `JSON.stringify`, a reviver, a logger or a Redis client walking them recursively
 * overflows the stack a few thousand levels down. Our messages need 3.
 */
export const DEFAULT_MAX_MESSAGE_DEPTH = 32;

/**
 * Checks a message that came off a Redis channel, before Nest parses it: its size, the JSON guard (`inspectJson`),
 * a JSON object at the top, and a `pattern` that matches the channel it came on (unless `channel` is undefined).
 * Parses once; the parsed object is what the handler gets.
 */
export function inspectMessage(
  raw: string,
  channel: string | undefined,
  maxBytes = DEFAULT_MAX_MESSAGE_BYTES,
  maxDepth = DEFAULT_MAX_MESSAGE_DEPTH,
): Inspection {
  // Characters take 1 to 3 bytes in UTF-8 (4 for a surrogate pair, which is 2 characters): measure only when needed.
  if (raw.length > maxBytes || (raw.length * 3 > maxBytes && Buffer.byteLength(raw) > maxBytes)) {
    return { accepted: false, kind: 'too-large', reason: `message of ${Buffer.byteLength(raw)} bytes exceeds the cap of ${maxBytes}` };
  }
  const json = inspectJson(raw, maxDepth);
  if (!json.accepted) return json;
  const message = json.value;
  if (!isObject(message) || Array.isArray(message)) {
    const shape = message === null ? 'null' : Array.isArray(message) ? 'an array' : `a ${typeof message}`;
    return { accepted: false, kind: 'not-an-object', reason: `JSON ${shape}, expected an object` };
  }
  const pattern = message['pattern'];
  if (channel !== undefined && pattern !== undefined && pattern !== channel) {
    const shown = typeof pattern === 'string' ? `"${pattern.slice(0, 100)}"` : JSON.stringify(pattern)?.slice(0, 100);
    return { accepted: false, kind: 'unknown-pattern', reason: `pattern ${shown} does not match channel "${channel}"` };
  }
  return { accepted: true, message };
}

/**
 * The guard of both transports for JSON from the wire, before anything walks it: nesting depth (scanned, not
 * parsed), then the parse, then keys that could reach a prototype once the value is merged or copied somewhere
 * (`__proto__`, or `prototype` under `constructor`). For `part` of a message (a stream entry's `data`), `maxDepth`
 * counts the envelope as level 1, so the same payload passes or not on both transports.
 */
export function inspectJson(json: string, maxDepth: number, part?: JsonPart): { accepted: true; value: unknown } | Rejection {
  const depth = part ? maxDepth - 1 : maxDepth;
  if (exceedsJsonDepth(json, depth)) {
    const reason = part ? `${part.name} nested deeper than ${depth} levels (${maxDepth} with the ${part.envelope})` : `JSON nested deeper than ${depth} levels`;
    return { accepted: false, kind: 'too-deep', reason };
  }
  const subject = part ? `${part.name} ` : '';
  let value: unknown;
  let prototypeKey: string | undefined;
  try {
    // Keys spelled with escapes (\u005f…) decode to the same names: only a parse sees them for sure.
    value = mayHidePrototypeKey(json)
      ? JSON.parse(json, (key, item: unknown) => {
          prototypeKey ??= prototypePollutionKey(key, item);
          return item;
        })
      : JSON.parse(json);
  } catch (error) {
    return { accepted: false, kind: 'not-json', reason: `${part ? `${subject}is not JSON` : 'not JSON'}: ${(error as Error).message}` };
  }
  if (prototypeKey) {
    return { accepted: false, kind: 'prototype-key', reason: `${subject}carries a "${prototypeKey}" key (prototype pollution attempt)` };
  }
  return { accepted: true, value };
}

/**
 * Whether `json` nests objects and arrays more than `maxDepth` levels deep: one pass over the text counting `{`/`[`
 * outside strings, no recursion (so no stack to overflow) and no parse. Says nothing of validity: on text that is not
 * JSON the count is meaningless, and the parse that follows refuses it.
 */
export function exceedsJsonDepth(json: string, maxDepth: number): boolean {
  // Most messages hold fewer openers than the cap in all: native searches settle them without a scan.
  if (countUpTo(json, '{', maxDepth + 1) + countUpTo(json, '[', maxDepth + 1) <= maxDepth) return false;
  let depth = 0;
  for (let index = 0; index < json.length; index++) {
    const code = json.charCodeAt(index);
    if (code === QUOTE) {
      index = closingQuote(json, index);
      if (index === -1) return false;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

function countUpTo(text: string, character: string, limit: number): number {
  let count = 0;
  for (let index = text.indexOf(character); index !== -1 && count < limit; index = text.indexOf(character, index + 1)) count++;
  return count;
}

/** The index of the quote that ends the string opened at `opening`, or -1 (unterminated). */
function closingQuote(json: string, opening: number): number {
  let index = opening;
  do {
    index = json.indexOf('"', index + 1);
  } while (index !== -1 && isEscaped(json, index));
  return index;
}

/** An odd run of backslashes before it escapes a character. Each run is read once: the scan stays linear. */
function isEscaped(json: string, index: number): boolean {
  let backslashes = 0;
  while (json.charCodeAt(index - 1 - backslashes) === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

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
