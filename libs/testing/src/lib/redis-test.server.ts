import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Redis the tests may use: their own private redis-server, or the one `REDIS_URL` names. */
export interface RedisTestServer {
  readonly url: string;
  readonly port: number;
  /** Whether this server was started by the test (and so may be stopped, restarted or flushed by it). */
  readonly isPrivate: boolean;
  /**
   * Stops the server and starts a new one at the same address (an outage), running `whileDown` in between;
   * refused for a `REDIS_URL` server.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  /**
   * Freezes the server (SIGSTOP) while `whileStalled` runs, then lets it go on (SIGCONT): connections stay open and
   * commands queue in its socket, as with a Redis stuck on a slow disk or a paused VM. Refused for a `REDIS_URL` server.
   */
  stall<T>(whileStalled: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** A free TCP port on the loopback interface, as the OS hands them out. */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('Could not read the bound port');
  return address.port;
}

/**
 * Starts a private `redis-server` on a free loopback port, resolving once it accepts connections: no persistence,
 * or with `appendOnly` an append-only file (fsync every second) in a temporary folder that a restart reloads. With
 * `REDIS_URL` set, uses that server instead and never starts nor stops anything, unless `requirePrivate` (for tests
 * that stop or restart Redis, which only a Redis of their own allows). `serverArgs` are passed on to redis-server
 * at every (re)start, e.g. `['--include', usersFile]` for ACL users; they need a private server.
 */
export async function startRedisTestServer({
  requirePrivate = false,
  appendOnly = false,
  serverArgs = [],
}: { requirePrivate?: boolean; appendOnly?: boolean; serverArgs?: readonly string[] } = {}): Promise<RedisTestServer> {
  if (serverArgs.length > 0 && !requirePrivate) throw new Error('serverArgs need a private redis-server: set requirePrivate');
  const externalUrl = process.env['REDIS_URL'];
  if (externalUrl && !requirePrivate) {
    const stop = () => Promise.resolve(); // not ours to stop
    const restart = () => Promise.reject(new Error('REDIS_URL names a Redis this test does not own: not restarting it'));
    const stall = () => Promise.reject(new Error('REDIS_URL names a Redis this test does not own: not stalling it'));
    return { url: externalUrl, port: Number(new URL(externalUrl).port || 6379), isPrivate: false, restart, stall, stop };
  }
  const port = await findFreePort();
  const folder = appendOnly ? mkdtempSync(join(tmpdir(), 'redis-aof-')) : undefined;
  const persistence = folder ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', folder] : [];
  const args = [...persistence, ...serverArgs];
  let child = await spawnRedisServer(port, args);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    isPrivate: true,
    restart: async (whileDown) => {
      await stopProcess(child);
      try {
        await whileDown?.();
      } finally {
        child = await spawnRedisServer(port, args);
      }
    },
    stall: async (whileStalled) => {
      child.kill('SIGSTOP');
      try {
        return await whileStalled();
      } finally {
        child.kill('SIGCONT');
      }
    },
    stop: async () => {
      // A stopped process does not act on SIGTERM until it is continued.
      child.kill('SIGCONT');
      await stopProcess(child);
      if (folder) rmSync(folder, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a throwaway `redis-server` (no persistence) on `port` of the loopback interface, for as long as the
 * caller runs: what the demo does when no Redis answers at the configured local address.
 */
export async function startRedisServerAt(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const child = await spawnRedisServer(port);
  return { url: `redis://127.0.0.1:${port}`, stop: () => stopProcess(child) };
}

/**
 * Spawns `redis-server` on `port` of the loopback interface (no persistence unless `extraArgs` say otherwise) and
 * resolves once it accepts connections. Exported for the cluster and Sentinel set-ups of this library.
 */
export async function spawnRedisServer(port: number, extraArgs: readonly string[] = []): Promise<ChildProcess> {
  return spawnRedisProcess(
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
    port,
  );
}

/**
 * Spawns `redis-server` with exactly `args` (a configuration file, if any, must come first) and resolves once its log
 * shows `readyText`: 'Ready to accept connections' for a server, '+monitor master' for a Sentinel.
 */
export async function spawnRedisProcess(
  args: readonly string[],
  port: number,
  readyText = 'Ready to accept connections',
): Promise<ChildProcess> {
  const child = spawn('redis-server', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitUntilReady(child, port, readyText);
  return child;
}

/** Resolves once the log of `child` (a redis-server on `port`) shows `readyText`; kills it after 10 s without. */
export async function waitUntilReady(
  child: ChildProcess,
  port: number,
  readyText = 'Ready to accept connections',
): Promise<void> {
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`Could not start redis-server (is it installed?): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}: ${output}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(readyText)) resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    await ready;
  } catch (error) {
    throw new Error(`redis-server on port ${port} did not become ready: ${(error as Error).message}`);
  } finally {
    clearTimeout(timeout);
    child.stdout?.removeAllListeners('data');
    child.stdout?.resume();
    child.stderr?.resume();
  }
}

/** Sends SIGTERM and resolves when the process has exited (SIGKILL after `graceMs`). */
export async function stopProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
