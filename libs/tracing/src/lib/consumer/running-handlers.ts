import { EventEmitter, once } from 'node:events';
import type { LoggerService } from '@nestjs/common';
import { withTimeout } from '../with-timeout';

/** How long a closing server lets the handlers already running finish, by default. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 8000;

/**
 * The handlers a server is running, for its graceful close (both transports): each is counted from its start to
 * its end, and `drain` waits for the last one, within a timeout.
 */
export class RunningHandlers {
  private running = 0;
  private readonly ended = new EventEmitter();

  /**
   * @param logger where a close that could not wait for every handler says so
   * @param leftBehind what becomes of their messages, appended to that line (e.g. `: their entries stay pending`)
   */
  constructor(
    private readonly logger: LoggerService,
    private readonly leftBehind = '',
  ) {}

  get count(): number {
    return this.running;
  }

  /** Counts one handler as running until the returned function is called (once: later calls do nothing). */
  start(): () => void {
    this.running++;
    let isDone = false;
    return () => {
      if (isDone) return;
      isDone = true;
      this.running--;
      this.ended.emit('end');
    };
  }

  /** Resolves when a handler ends; rejects when `signal` aborts first. */
  async nextEnd(signal?: AbortSignal): Promise<void> {
    await once(this.ended, 'end', { signal });
  }

  /** Waits until no handler runs, at most `timeoutMs`; says so in the log if some still do. True if all ended. */
  async drain(timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<boolean> {
    if (this.running === 0) return true;
    const drained = await withTimeout(this.allEnded(), timeoutMs).then(
      () => true,
      () => false,
    );
    if (!drained) this.logger.warn(`Closing with ${this.running} handler(s) still running after ${timeoutMs} ms${this.leftBehind}`);
    return drained;
  }

  private async allEnded(): Promise<void> {
    while (this.running > 0) await once(this.ended, 'end');
  }
}
