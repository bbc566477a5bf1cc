import type { LoggerService } from '@nestjs/common';

/**
 * Tells of a Redis outage in two lines, when it starts and when it ends, instead of one line per failed attempt:
 * a connection retried every second would otherwise write thousands of identical lines during a long outage.
 */
export class OutageLog {
  private downSince?: number;
  private suppressed = 0;

  constructor(
    private readonly logger: Pick<LoggerService, 'error' | 'log'>,
    private readonly what = 'Redis connection',
  ) {}

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  /** A failed attempt: logged if it starts an outage, counted otherwise. */
  down(reason: string): void {
    if (this.downSince !== undefined) {
      this.suppressed++;
      return;
    }
    this.downSince = Date.now();
    this.logger.error(`${this.what} failed, reconnecting (further failures are counted, not logged): ${reason}`);
  }

  /** Connected again: logs how long the outage lasted, if there was one. */
  up(): void {
    if (this.downSince === undefined) return;
    const seconds = ((Date.now() - this.downSince) / 1000).toFixed(1);
    this.logger.log(`${this.what} restored after ${seconds} s (${this.suppressed} more failed attempts)`);
    this.downSince = undefined;
    this.suppressed = 0;
  }
}

const RECONNECTING = 'Reconnecting to Redis';
const CONNECTED = 'Connected to Redis';

/**
 * The logger of Nest's `ClientRedis` / `ServerRedis`, which log every connection error and every reconnection
 * attempt: passes their messages through, except the repeats of an outage, which `OutageLog` sums up.
 */
export function collapseOutageLogs(logger: LoggerService, what: string): LoggerService {
  const outage = new OutageLog(logger, what);
  const text = (message: unknown) => (message instanceof Error ? message.message : String(message));
  return {
    log: (message: unknown, ...rest: unknown[]) => {
      const line = text(message);
      if (line.startsWith(RECONNECTING) && outage.isDown) return;
      if (line.startsWith(CONNECTED)) outage.up();
      logger.log(message, ...rest);
    },
    error: (message: unknown, ...rest: unknown[]) => {
      // Nest logs the raw ioredis error (ECONNREFUSED, ETIMEDOUT, …) of each attempt.
      if (message instanceof Error || /ECONN|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection is closed/.test(text(message))) {
        outage.down(text(message));
        return;
      }
      logger.error(message, ...rest);
    },
    warn: (message: unknown, ...rest: unknown[]) => logger.warn(message, ...rest),
    debug: (message: unknown, ...rest: unknown[]) => logger.debug?.(message, ...rest),
    verbose: (message: unknown, ...rest: unknown[]) => logger.verbose?.(message, ...rest),
    fatal: (message: unknown, ...rest: unknown[]) => logger.fatal?.(message, ...rest),
  };
}
