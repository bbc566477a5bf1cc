import { trace } from '@opentelemetry/api';

const DEFAULT_FLUSH_TIMEOUT_MS = 5000;

/**
 * Exports the spans still buffered by the registered tracer provider, through the API only (the SDK belongs to the
 * bootstrap). Gives up after `timeoutMs`, and never rejects: an absent collector must not hold nor fail a shutdown.
 */
export async function flushSpans(timeoutMs = DEFAULT_FLUSH_TIMEOUT_MS): Promise<void> {
  const provider = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const delegate = (provider.getDelegate?.() ?? provider) as { forceFlush?: () => Promise<void> };
  if (typeof delegate.forceFlush !== 'function') return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref()));
  try {
    // A collector that is away makes the flush fail: the SDK's error handler has said so already, and shutting down
    // must go on (a rejection here would turn a clean exit into an error exit).
    await Promise.race([delegate.forceFlush().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
