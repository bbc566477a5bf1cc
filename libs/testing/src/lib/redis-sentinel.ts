import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRedisProcess, spawnRedisServer, stopProcess } from './redis-test.server';
import {
  findFreePorts,
  guardFolder,
  guardProcess,
  type HostPort,
  hostPort,
  isRunning,
  LOOPBACK,
  pollUntil,
  redisCommand,
  register,
  removeFolder,
  roleOf,
} from './redis-topology.support';

export interface RedisSentinelOptions {
  /** Replicas of the primary. */
  replicas?: number;
  sentinels?: number;
  /** Sentinels that must agree that the primary is down. */
  quorum?: number;
  masterName?: string;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
  /** requirepass and masterauth of the data nodes (the sentinels get it as auth-pass). */
  password?: string;
  /** requirepass of the sentinels (and the sentinel-pass they use with each other). */
  sentinelPassword?: string;
  /** Passed on to every data node (not the sentinels) at every (re)start. */
  serverArgs?: readonly string[];
  /** How long start, failover and restart may take before they reject. */
  timeoutMs?: number;
}

export interface LocalRedisSentinel {
  readonly masterName: string;
  readonly sentinels: readonly HostPort[];
  /** The data nodes (primary and replicas), as started. */
  readonly nodes: readonly HostPort[];
  readonly password: string | undefined;
  readonly sentinelPassword: string | undefined;
  /** The primary as a running sentinel reports it (SENTINEL get-master-addr-by-name). */
  primary(): Promise<HostPort>;
  /**
   * SIGKILLs the current primary and resolves once every running sentinel reports the same new primary and that node
   * answers ROLE as master; `failoverMs` is from the kill until then.
   */
  killPrimary(): Promise<{ killed: HostPort; promoted: HostPort; failoverMs: number }>;
  /**
   * Starts a killed data node again (as a replica of the current primary, unless it still is the primary) and resolves
   * once its link is up and every sentinel lists it as a replica that is not down.
   */
  restartNode(port: number): Promise<void>;
  /** Every process id this set-up has started (killed and restarted ones too). */
  pids(): number[];
  /** Stops every data node and sentinel and removes the temporary folder; also after kills, and more than once. */
  stop(): Promise<void>;
}

/** A SENTINEL replicas / sentinels entry (a flat [name, value, …] array) as an object. */
function fields(entry: unknown): Record<string, string> {
  const flat = entry as string[];
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i]] = flat[i + 1];
  return record;
}

/** A value for a redis.conf line: quoted, so that spaces and quotes in a password survive. */
const quoted = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

const isDown = (flags: string | undefined) => /s_down|o_down|disconnected/.test(flags ?? '');

/**
 * Starts a primary, its replicas and sentinels that monitor it (private redis-servers on loopback ports, in a temporary
 * folder), and resolves once every replica's link is up and every sentinel sees the primary, all replicas and all
 * other sentinels.
 */
export async function startRedisSentinel({
  replicas = 1,
  sentinels = 3,
  quorum = 2,
  masterName = 'mymaster',
  downAfterMs = 1_000,
  failoverTimeoutMs = 5_000,
  password,
  sentinelPassword,
  serverArgs = [],
  timeoutMs = 30_000,
}: RedisSentinelOptions = {}): Promise<LocalRedisSentinel> {
  const ports = await findFreePorts(1 + replicas + sentinels);
  const nodePorts = ports.slice(0, 1 + replicas);
  const sentinelPorts = ports.slice(1 + replicas);
  const folder = guardFolder(mkdtempSync(join(tmpdir(), 'redis-sentinel-')));
  const auth = password === undefined ? [] : ['--requirepass', password, '--masterauth', password];
  const dirOf = (port: number) => {
    const dir = join(folder, String(port)); // a replica's full sync writes dump.rdb there; a sentinel rewrites its file
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const children = new Map<number, ChildProcess>();
  const allPids: number[] = [];
  const keep = (port: number, child: ChildProcess) => {
    children.set(port, guardProcess(child));
    if (child.pid !== undefined) allPids.push(child.pid);
  };
  // A primary waits 5 s by default before a diskless full sync, for more replicas to share it.
  const noSyncDelay = ['--repl-diskless-sync-delay', '0'];
  const startNode = async (port: number, primaryPort?: number) => {
    const replicaOf = primaryPort === undefined ? [] : ['--replicaof', LOOPBACK, String(primaryPort)];
    keep(port, await spawnRedisServer(port, ['--dir', dirOf(port), ...noSyncDelay, ...auth, ...replicaOf, ...serverArgs]));
  };
  const startSentinel = async (port: number, primaryPort: number) => {
    const dir = dirOf(port);
    const file = join(dir, 'sentinel.conf');
    const lines = [
      `port ${port}`,
      `bind ${LOOPBACK}`,
      `dir ${dir}`,
      `sentinel monitor ${masterName} ${LOOPBACK} ${primaryPort} ${quorum}`,
      `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
      `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
      `sentinel parallel-syncs ${masterName} 1`,
      ...(password === undefined ? [] : [`sentinel auth-pass ${masterName} ${quoted(password)}`]),
      ...(sentinelPassword === undefined
        ? []
        : [`requirepass ${quoted(sentinelPassword)}`, `sentinel sentinel-pass ${quoted(sentinelPassword)}`]),
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);
    keep(port, await spawnRedisProcess([file, '--sentinel'], port, '+monitor master'));
  };
  const running = (portsOf: readonly number[]) => portsOf.filter((port) => isRunning(children.get(port))).map(hostPort);
  const askSentinel = (sentinel: HostPort, ...args: string[]) =>
    redisCommand(sentinel, ['SENTINEL', ...args], sentinelPassword);
  const primaryFrom = async (sentinel: HostPort) => {
    const [, port] = (await askSentinel(sentinel, 'get-master-addr-by-name', masterName)) as [string, string];
    return Number(port);
  };

  /**
   * Whether every running sentinel sees `replicaPorts` up (and, with `linkOk`, linked as their last INFO said: a
   * sentinel asks a replica for INFO only every 10 s) and every other running sentinel.
   */
  const sentinelsSee = async (note: (state: string) => void, replicaPorts: readonly number[], linkOk = true) => {
    const live = running(sentinelPorts);
    for (const sentinel of live) {
      const seen = ((await askSentinel(sentinel, 'replicas', masterName)) as unknown[]).map(fields);
      const missing = replicaPorts.filter(
        (port) => !seen.some((r) => Number(r['port']) === port && !isDown(r['flags']) && (!linkOk || r['master-link-status'] === 'ok')),
      );
      const peers = ((await askSentinel(sentinel, 'sentinels', masterName)) as unknown[]).map(fields);
      const peersUp = peers.filter((peer) => !isDown(peer['flags'])).length;
      if (missing.length > 0 || peersUp < live.length - 1) {
        note(`sentinel ${sentinel.port}: replicas not seen up: [${missing.join(', ')}], other sentinels up: ${peersUp} of ${live.length - 1}`);
        return false;
      }
    }
    return true;
  };

  const setUp: LocalRedisSentinel = {
    masterName,
    sentinels: sentinelPorts.map(hostPort),
    nodes: nodePorts.map(hostPort),
    password,
    sentinelPassword,
    primary: async () => {
      const [sentinel] = running(sentinelPorts);
      if (!sentinel) throw new Error('No sentinel is running');
      return hostPort(await primaryFrom(sentinel));
    },
    killPrimary: async () => {
      const killed = await setUp.primary();
      const child = children.get(killed.port);
      if (!isRunning(child)) throw new Error(`The primary at ${killed.port} is not running (killed before?)`);
      const began = performance.now();
      child.kill('SIGKILL');
      const promoted = await pollUntil(
        async (note) => {
          const reported = await Promise.all(running(sentinelPorts).map(primaryFrom));
          const [candidate] = reported;
          if (candidate === killed.port || reported.some((port) => port !== candidate)) {
            note(`sentinels report the primary at ${reported.join(', ')}`);
            return undefined;
          }
          const { role } = await roleOf(hostPort(candidate), password);
          note(`${candidate} answers ROLE ${role}`);
          return role === 'master' && candidate;
        },
        { timeoutMs, what: `Failover from the primary at ${killed.port}` },
      );
      return { killed, promoted: hostPort(promoted), failoverMs: Math.round(performance.now() - began) };
    },
    restartNode: async (port) => {
      if (!nodePorts.includes(port)) throw new Error(`Port ${port} is no data node of this set-up`);
      if (isRunning(children.get(port))) throw new Error(`The node at ${port} is running`);
      const primaryPort = (await setUp.primary()).port;
      await startNode(port, primaryPort === port ? undefined : primaryPort);
      if (primaryPort === port) return;
      await pollUntil(
        async (note) => {
          const { role, linkUp } = await roleOf(hostPort(port), password);
          if (role !== 'slave' || !linkUp) {
            note(`${port}: ROLE ${role}, link ${linkUp ? 'up' : 'down'}`);
            return false;
          }
          return sentinelsSee(note, [port], false);
        },
        { timeoutMs, what: `Node ${port} back as a replica of ${primaryPort}` },
      );
    },
    pids: () => [...allPids],
    stop: async () => {
      await Promise.all(
        [...children.values()].map(async (child) => {
          child.kill('SIGCONT');
          await stopProcess(child);
        }),
      );
      removeFolder(folder);
    },
  };
  register(setUp);

  try {
    const [primaryPort, ...replicaPorts] = nodePorts;
    await startNode(primaryPort);
    await Promise.all(replicaPorts.map((port) => startNode(port, primaryPort)));
    await pollUntil(
      async (note) => {
        for (const port of replicaPorts) {
          const { linkUp } = await roleOf(hostPort(port), password);
          if (!linkUp) {
            note(`replica ${port}: link to ${primaryPort} down`);
            return false;
          }
        }
        return true;
      },
      { timeoutMs, what: `Replicas of ${primaryPort} linked` },
    );
    await Promise.all(sentinelPorts.map((port) => startSentinel(port, primaryPort)));
    await pollUntil((note) => sentinelsSee(note, replicaPorts), { timeoutMs, what: 'Sentinels seeing the replicas and each other' });
  } catch (error) {
    await setUp.stop();
    throw error;
  }
  return setUp;
}
