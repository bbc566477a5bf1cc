/*
 * Why this suite exists: `npm start` is the first command a newcomer runs after the quick start, in a real terminal.
 * A start that fails must end (not wait for file changes forever with half the stack serving), name the service and
 * the reason, and take down what it started; Nx must not stop it at a usage-data prompt (nor write the answer into
 * the tracked nx.json); and a developer at a terminal gets the readable log format. Only a pseudo-terminal shows the
 * last two, so the command runs under `script`, with CI unset as on a developer's machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { findFreePort, type RedisTestServer, startRedisTestServer } from '@nest-redis-otel/testing';
import { WORKSPACE_ROOT } from './served-app';

/** `script`'s arguments to run `command` in a pseudo-terminal: util-linux (Linux) or BSD (macOS) spelling. */
const scriptArgs = (command: string) =>
  spawnSync('script', ['--version']).status === 0
    ? ['--quiet', '--return', '--command', command, '/dev/null']
    : ['-q', '/dev/null', 'sh', '-c', command];

/** Runs `command` in a pseudo-terminal (`script`); resolves with its exit code and what it printed. */
async function inTerminal(command: string, env: Record<string, string>) {
  const developerEnv = { ...process.env };
  delete developerEnv['CI'];
  delete developerEnv['NX_TUI'];
  const child = spawn('script', scriptArgs(command), {
    cwd: WORKSPACE_ROOT,
    env: { ...developerEnv, NX_DAEMON: 'false', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Nothing is typed: a prompt would wait for an answer until the test times out, and show in the output.
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, lines: output.split(/\r?\n/) };
}

const isInUse = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });

describe('npm start, in a terminal', () => {
  let redis: RedisTestServer;
  let occupied: Server;
  let occupiedPort: number;
  const nxJsonBefore = readFileSync(join(WORKSPACE_ROOT, 'nx.json'), 'utf8');

  beforeAll(async () => {
    redis = await startRedisTestServer({ requirePrivate: true });
    occupiedPort = await findFreePort();
    occupied = createServer().listen(occupiedPort, '127.0.0.1');
    await once(occupied, 'listening');
  });

  afterAll(async () => {
    occupied?.close();
    await redis?.stop();
  });

  it('when items-api cannot listen (port in use): stops redis-consumer too, exits non-zero naming the service and why', async () => {
    const healthPort = await findFreePort();
    const { code, lines } = await inTerminal('npm start', {
      REDIS_URL: redis.url,
      PORT: String(occupiedPort),
      HEALTH_PORT: String(healthPort),
      OTEL_SDK_DISABLED: 'true',
    });
    expect(code).not.toBe(0);
    expect(lines.join('\n')).toMatch(/EADDRINUSE/);
    expect(lines).toContainEqual(expect.stringMatching(/^npm start: items-api stopped \(exit code 1\)/));
    // redis-consumer had started (pretty lines, not JSON, in a terminal) and was stopped with the rest.
    const consumerLines = lines.filter((line) => line.includes('redis-consumer subscribed'));
    expect(consumerLines).toHaveLength(1);
    expect(() => JSON.parse(consumerLines[0])).toThrow();
    expect(await isInUse(healthPort)).toBe(false);
    // No usage-data prompt from Nx on the way (the build step), and nothing written into the tracked nx.json.
    expect(lines.join('\n')).not.toMatch(/usage data|analytics/i);
    expect(readFileSync(join(WORKSPACE_ROOT, 'nx.json'), 'utf8')).toBe(nxJsonBefore);
  }, 240_000);

  it('the apps have no webpack-* targets left (they are Node back ends, built by tsc)', async () => {
    const shown = spawnSync('npx', ['nx', 'show', 'project', 'items-api', '--json'], { cwd: WORKSPACE_ROOT, encoding: 'utf8' });
    expect(shown.status).toBe(0);
    const project = JSON.parse(shown.stdout) as { targets: Record<string, unknown> };
    expect(Object.keys(project.targets).sort()).toEqual(
      expect.arrayContaining(['build', 'copy-workspace-modules', 'lint', 'prune', 'prune-lockfile', 'serve', 'test']),
    );
    expect(Object.keys(project.targets).filter((target) => target.startsWith('webpack'))).toEqual([]);
    expect(readFileSync(join(WORKSPACE_ROOT, 'nx.json'), 'utf8')).toBe(nxJsonBefore);
  }, 120_000);
});
