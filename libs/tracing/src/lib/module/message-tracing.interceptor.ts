import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { context as otelContext, trace } from '@opentelemetry/api';
import { catchError, type Observable, throwError } from 'rxjs';
import { isMessageSpan, recordMessageFailure } from '../messaging/message-spans';

/**
 * Records the original exception of a message handler on its CONSUMER span, before Nest's exception filters turn
 * it into an RPC error, and rethrows it unchanged.
 */
@Injectable()
export class MessageTracingInterceptor implements NestInterceptor {
  intercept(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (executionContext.getType() !== 'rpc') return next.handle();
    const span = trace.getSpan(otelContext.active());
    if (!isMessageSpan(span)) return next.handle();
    return next.handle().pipe(
      catchError((error: unknown) => {
        recordMessageFailure(span, error);
        return throwError(() => error);
      }),
    );
  }
}
