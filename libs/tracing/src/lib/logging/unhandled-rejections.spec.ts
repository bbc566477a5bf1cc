/*
 * What happens to a process on an unhandled rejection is the runtime's business: only a real process shows it.
 * Each case runs a small Node script and looks at its output and exit code.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const MODULE = join(__dirname, 'unhandled-rejections.ts');

function runNode(script: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['-r', '@swc-node/register', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const REJECT_THREE_THEN_LIVE = `
  for (const n of [1, 2, 3]) Promise.reject(new RangeError('Maximum call stack size exceeded #' + n));
  setTimeout(() => console.log('still running'), 50);
`;

describe('keepRunningOnUnhandledRejection', () => {
  it('is needed: by default Node ends the process at the first unhandled rejection', () => {
    const { status, stdout, stderr } = runNode(REJECT_THREE_THEN_LIVE);
    expect(status).toBe(1);
    expect(stdout).not.toContain('still running');
    expect(stderr).toContain('Maximum call stack size exceeded #1');
  });

  it('keeps the process running and logs the first rejection once, with its stack; the next ones are counted', () => {
    const { status, stdout } = runNode(`
      const { keepRunningOnUnhandledRejection } = require(${JSON.stringify(MODULE)});
      keepRunningOnUnhandledRejection((line) => console.log('LOG ' + line));
      ${REJECT_THREE_THEN_LIVE}
    `);
    expect(status).toBe(0);
    const logged = stdout.split('\n').filter((line) => line.startsWith('LOG '));
    expect(logged).toEqual([expect.stringContaining('unhandledRejection (kept running; a bug: this promise needs a .catch): Maximum call stack size exceeded #1')]);
    expect(stdout).toContain('at [eval]');
    expect(stdout).toContain('still running');
  });
});
