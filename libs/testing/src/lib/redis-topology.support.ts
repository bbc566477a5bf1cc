/*
 * What the cluster and Sentinel set-ups share: ports, one-shot commands, polling a condition, and a watchdog that
 * SIGKILLs their redis-server processes should the test process die without stopping them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { findFreePort } from './redis-test.server';
import { waitUntil } from './wait-until';

export const LOOPBACK = '127.0.0.1';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export function hostPort(port: number): HostPort {
  return { host: LOOPBACK, port };
}

export function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` distinct free loopback ports; with `alsoFreeAt`, `port + alsoFreeAt` is free too for each (a cluster node's
 * bus listens at port + 10000) and is none of the others.
 */
export async function findFreePorts(count: number, { alsoFreeAt }: { alsoFreeAt?: number } = {}): Promise<number[]> {
  const chosen: number[] = [];
  const taken = new Set<number>();
  for (let attempts = 0; chosen.length < count; attempts++) {
    if (attempts > 1_000) throw new Error(`Found only ${chosen.length} of ${count} free ports`);
    const port = await findFreePort();
    if (taken.has(port)) continue;
    if (alsoFreeAt !== undefined) {
      const other = port + alsoFreeAt;
      if (other > 65_535 || taken.has(other) || !(await isFree(other))) continue;
      taken.add(other);
    }
    taken.add(port);
    chosen.push(port);
  }
  return chosen;
}

/** Runs one command on its own short-lived connection (no retries, no offline queue): for checks, not for load. */
export async function redisCommand(
  node: HostPort,
  [command, ...args]: readonly (string | number)[],
  password?: string,
): Promise<unknown> {
  const client = new Redis({
    host: node.host,
    port: node.port,
    password,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
  });
  client.on('error', () => undefined); // reported by the rejected promise below
  try {
    await client.connect();
    return await client.call(String(command), ...args);
  } finally {
    client.disconnect();
  }
}

/** `field:value` lines of INFO or CLUSTER INFO as an object. */
export function parseInfo(text: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of String(text).split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

/** ROLE's first element: 'master', 'slave' or 'sentinel'; for a replica, whether its link to the primary is up. */
export async function roleOf(node: HostPort, password?: string): Promise<{ role: string; linkUp: boolean; primaryPort?: number }> {
  const reply = (await redisCommand(node, ['ROLE'], password)) as unknown[];
  const role = String(reply[0]);
  if (role !== 'slave') return { role, linkUp: false };
  return { role, linkUp: reply[3] === 'connected', primaryPort: Number(reply[2]) };
}

/**
 * Runs `probe` until it returns something truthy (each run after the last one finished, `intervalMs` apart) and
 * resolves with that. `probe` says what it saw through `note` (a failed probe's error is noted too), which the timeout
 * error shows.
 */
export async function pollUntil<T>(
  probe: (note: (state: string) => void) => Promise<T | undefined | false>,
  { timeoutMs, what, intervalMs = 50 }: { timeoutMs: number; what: string; intervalMs?: number },
): Promise<T> {
  const probed = new EventEmitter();
  let latest: T | undefined | false;
  let state = 'not probed yet';
  let done = false;
  const note = (seen: string) => (state = seen);
  const loop = (async () => {
    while (!done) {
      try {
        latest = await probe(note);
      } catch (error) {
        latest = undefined;
        state = `probe failed: ${(error as Error).message}`;
      }
      probed.emit('probed');
      if (latest || done) return;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  try {
    return await waitUntil(probed, 'probed', () => latest, { timeoutMs, what, describeState: () => state });
  } finally {
    done = true;
    await loop;
  }
}

/*
 * Jest gives a test its own `process` object whose 'exit' event never fires, and a redis-server whose parent died
 * runs on. So a watchdog process holds a pipe from this one and is told every pid and temporary folder as they come
 * and go; when the pipe closes (this process exited, however), it SIGKILLs the pids and removes the folders still
 * listed.
 */
const WATCHDOG = `
const { rmSync } = require('node:fs');
const pids = new Set();
const folders = new Set();
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  for (let end = buffered.indexOf('\\n'); end >= 0; end = buffered.indexOf('\\n')) {
    const [kind, sign, value] = [buffered[0], buffered[1], buffered.slice(2, end)];
    buffered = buffered.slice(end + 1);
    const set = kind === 'p' ? pids : folders;
    if (sign === '+') set.add(value);
    else set.delete(value);
  }
});
process.stdin.on('end', () => {
  for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch {} }
  for (const folder of folders) { try { rmSync(folder, { recursive: true, force: true }); } catch {} }
  process.exit(0);
});
`;
let watchdog: ChildProcess | undefined;

function tellWatchdog(line: string): void {
  if (!isRunning(watchdog)) {
    if (line[1] === '-') return; // a new watchdog has nothing to forget
    watchdog = spawn(process.execPath, ['-e', WATCHDOG], { stdio: ['pipe', 'ignore', 'ignore'] });
    watchdog.unref();
    (watchdog.stdin as Socket).unref();
  }
  watchdog.stdin?.write(`${line}\n`);
}

/** Has `child` SIGKILLed should this process exit before it does. */
export function guardProcess(child: ChildProcess): ChildProcess {
  if (child.pid === undefined || !isRunning(child)) return child;
  const pid = child.pid;
  tellWatchdog(`p+${pid}`);
  child.once('exit', () => tellWatchdog(`p-${pid}`));
  return child;
}

/** Has `folder` removed should this process exit before `removeFolder` does. */
export function guardFolder(folder: string): string {
  tellWatchdog(`d+${folder}`);
  return folder;
}

export function removeFolder(folder: string): void {
  rmSync(folder, { recursive: true, force: true });
  tellWatchdog(`d-${folder}`);
}

const running = new Set<{ stop(): Promise<void> }>();

/** Keeps `setUp` listed (for stopAllRedisTopologies) until its stop() resolves. */
export function register<T extends { stop(): Promise<void> }>(setUp: T): T {
  running.add(setUp);
  const stop = setUp.stop.bind(setUp);
  setUp.stop = async () => {
    try {
      await stop();
    } finally {
      running.delete(setUp);
    }
  };
  return setUp;
}

/**
 * Stops every Redis cluster and Sentinel set-up this test file started and has not stopped: for an afterAll that
 * lost its handles (a beforeAll that failed half-way).
 */
export async function stopAllRedisTopologies(): Promise<void> {
  await Promise.all([...running].map((setUp) => setUp.stop()));
}
