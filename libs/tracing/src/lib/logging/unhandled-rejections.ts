import { describeError } from '../messaging/message-spans';
import { RateLimitedLog } from './rate-limited-log';

/**
 * Keeps the process running when a promise nobody handles rejects, and says so in the log: the first such rejection
 * with its stack, then at most one line a minute with the count. Node's default (`--unhandled-rejections=throw`,
 * since Node 15) ends the process, and with it every message in flight, for what is a bug to fix in one place (see
 * docs/decisions.md). Uncaught exceptions are left alone: they still end the process. Returns the uninstaller.
 */
export function keepRunningOnUnhandledRejection(log: (line: string) => void, intervalMs = 60_000): () => void {
  const lines = new RateLimitedLog(log, intervalMs);
  const listener = (reason: unknown) => {
    const { message } = describeError(reason);
    const stack = reason instanceof Error && reason.stack ? `\n${reason.stack.split('\n').slice(0, 12).join('\n')}` : '';
    lines.write('unhandledRejection', `unhandledRejection (kept running; a bug: this promise needs a .catch): ${message}${stack}`);
  };
  process.on('unhandledRejection', listener);
  return () => process.off('unhandledRejection', listener);
}
