import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { type DynamicModule, type LoggerService, Module } from '@nestjs/common';
import type * as NestjsPino from 'nestjs-pino';
import { traceLogFields } from './trace-log-fields';

export const LOG_LEVELS = ['info', 'debug', 'trace', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Options of `TracedLoggerModule.forRoot`. */
export interface TracedLoggerOptions {
  /** `service.name` of the lines (the same as the spans'). */
  service: string;
  level?: LogLevel;
  /** `json` (one object a line, for machines) or `pretty` (for a developer's terminal; needs `pino-pretty`). */
  format?: LogFormat;
  /** The id of an HTTP request, for the request lines (`request_id`). */
  requestId?: (request: IncomingMessage, response: ServerResponse) => string;
  /** Requests not worth a line (health probes). */
  ignoreRequest?: (request: IncomingMessage) => boolean;
}

/**
 * Structured logs (pino, through nestjs-pino) in which every line written inside a span carries its `trace_id`,
 * `span_id` and `trace_flags`, so that a trace viewer and a log store can be joined on them. Use with
 * `NestFactory.create(…, { bufferLogs: true })` and `app.useLogger(app.get(TracedLogger))`.
 */
/**
 * The logger `TracedLoggerModule` provides (nestjs-pino's `Logger`), for `app.useLogger(app.get(TracedLogger))`.
 * Why not nestjs-pino's `Logger` itself: nestjs-pino ships a CommonJS and an ESM build, this package loads the
 * CommonJS one, and an ESM app's `import { Logger } from 'nestjs-pino'` is another class that Nest cannot find.
 */
export abstract class TracedLogger implements LoggerService {
  abstract log(message: unknown, ...optionalParams: unknown[]): void;
  abstract error(message: unknown, ...optionalParams: unknown[]): void;
  abstract warn(message: unknown, ...optionalParams: unknown[]): void;
}

@Module({})
export class TracedLoggerModule {
  static forRoot(options: TracedLoggerOptions): DynamicModule {
    const { Logger, LoggerModule } = loadNestjsPino();
    return {
      module: TracedLoggerModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: options.level ?? 'info',
            base: { service: options.service },
            mixin: traceLogFields,
            ...(options.format === 'pretty' && {
              transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } },
            }),
            ...(options.requestId && {
              genReqId: options.requestId,
              customProps: (request: IncomingMessage & { id?: unknown }) => ({ request_id: request.id }),
            }),
            autoLogging: { ignore: (request) => options.ignoreRequest?.(request) ?? false },
            // The request line keeps what identifies it; headers (credentials, cookies) and addresses stay out.
            serializers: {
              req: (request: { method?: string; url?: string }) => ({ method: request.method, url: request.url }),
              res: (response: { statusCode?: number }) => ({ status_code: response.statusCode }),
            },
          },
        }),
      ],
      providers: [{ provide: TracedLogger, useExisting: Logger }],
      exports: [LoggerModule, TracedLogger],
    };
  }
}

/**
 * nestjs-pino is an optional peer dependency: loaded when `forRoot` is called, not when the package is, so that an
 * app without it (a consumer that logs with Nest's logger) can still import this package.
 */
function loadNestjsPino(): typeof NestjsPino {
  try {
    return createRequire(__filename)('nestjs-pino') as typeof NestjsPino;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error('TracedLoggerModule needs nestjs-pino and its peers: npm i nestjs-pino pino pino-http', { cause: error });
  }
}
