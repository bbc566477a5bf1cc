import type { Context } from '@opentelemetry/api';
import type { Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { untrustedParentOf } from '@nest-redis-otel/tracing';

/** Gives a span started on an untrusted incoming context (`link` policy) a link to the caller's span. */
export class UntrustedParentLinkProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    const caller = untrustedParentOf(parentContext);
    if (caller) span.addLink({ context: caller, attributes: { 'nest_redis_otel.link.reason': 'untrusted incoming context' } });
  }

  onEnd(): void {
    // Nothing to do when a span ends.
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
