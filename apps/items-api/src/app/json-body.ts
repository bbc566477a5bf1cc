import type { NestExpressApplication, NestExpressBodyParserOptionsMap } from '@nestjs/platform-express';
import { exceedsJsonDepth, prototypePollutionKey } from '@nest-redis-otel/tracing';

/** An item is a name of at most 200 characters and a price: a body larger than this is not one (413). */
export const MAX_JSON_BODY = '16kb';
/**
 * Far more nesting than any body of ours has (the W3C tracecontext harness nests its arguments a few levels). The
 * parser's reviver and the validators recurse: thousands of levels overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

// `String.prototype.isWellFormed` (Node 20) is not in the ES2023 lib this workspace compiles against. In a `u`
// regular expression a surrogate pair is one code point, so only a lone surrogate is a `Surrogate`.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * JSON bodies: size-capped; refused (400) when nested deeper than `MAX_JSON_DEPTH`, when a string or key is not
 * well-formed Unicode (a lone surrogate such as "\ud800", which would be stored as U+FFFD), or when they carry a key
 * through which a copy or merge could reach a prototype (`__proto__`, `constructor.prototype`), before any code of
 * ours sees them.
 */
export function useSafeJsonBodies(app: NestExpressApplication): void {
  const options: NestExpressBodyParserOptionsMap['json'] = {
    limit: MAX_JSON_BODY,
    // body-parser's `verify` sees the raw body before the parser (and its recursive reviver) does. Nest's option type
    // leaves `verify` out because it sets its own when the app is created with `rawBody: true` (checked against
    // @nestjs/platform-express 12.5): this app does not, and http-bad-input.integration.spec.ts fails if it is lost.
    verify: (_request, _response, body) => {
      if (exceedsJsonDepth(body.toString('utf8'), MAX_JSON_DEPTH)) {
        throw Object.assign(new Error(`The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`), { status: 400, expose: true });
      }
    },
    reviver: (key: string, value: unknown) => {
      if (LONE_SURROGATE.test(key)) throw new SyntaxError('A key is not well-formed Unicode (a lone surrogate)');
      if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
        throw new SyntaxError(`${key === '' ? 'The body' : `"${key}"`} is not well-formed Unicode (a lone surrogate)`);
      }
      const path = prototypePollutionKey(key, value);
      if (path) throw new SyntaxError(`"${path}" keys are not accepted`);
      return value;
    },
  };
  app.useBodyParser('json', options);
}
