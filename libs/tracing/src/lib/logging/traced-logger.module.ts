import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
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
 * `NestFactory.create(…, { bufferLogs: true })` and `app.useLogger(app.get(Logger))` (nestjs-pino's `Logger`).
 */
@Module({})
export class TracedLoggerModule {
  static forRoot(options: TracedLoggerOptions): DynamicModule {
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
      exports: [LoggerModule],
    };
  }
}
