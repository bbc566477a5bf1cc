import { type EventEmitter, once } from 'node:events';

/**
 * Resolves with what `check` returns once it returns something truthy: checked now, then each time `emitter` emits
 * `event`. Rejects after `timeoutMs` with `describeState()` in the message, so that a failing test shows what it
 * got instead of a bare timeout.
 */
export async function waitUntil<T>(
  emitter: EventEmitter,
  event: string,
  check: () => T | undefined | false,
  { timeoutMs, what, describeState }: { timeoutMs: number; what: string; describeState: () => string },
): Promise<T> {
  const immediate = check();
  if (immediate) return immediate;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    for (;;) {
      await once(emitter, event, { signal: abort.signal });
      const result = check();
      if (result) return result;
    }
  } catch (error) {
    if (abort.signal.aborted) {
      throw new Error(`${what} did not happen within ${timeoutMs} ms. Got:\n  ${describeState()}`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
