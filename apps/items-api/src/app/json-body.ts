import type { NestExpressApplication } from '@nestjs/platform-express';
import { prototypePollutionKey } from '@nest-redis-otel/tracing';

/** An item is a name of at most 200 characters and a price: a body larger than this is not one (413). */
export const MAX_JSON_BODY = '16kb';

/**
 * JSON bodies: size-capped, and refused (400) when they carry a key through which a copy or merge could reach a
 * prototype (`__proto__`, `constructor.prototype`), before any code of ours sees them.
 */
export function useSafeJsonBodies(app: NestExpressApplication): void {
  app.useBodyParser('json', {
    limit: MAX_JSON_BODY,
    reviver: (key: string, value: unknown) => {
      const path = prototypePollutionKey(key, value);
      if (path) throw new SyntaxError(`"${path}" keys are not accepted`);
      return value;
    },
  });
}
