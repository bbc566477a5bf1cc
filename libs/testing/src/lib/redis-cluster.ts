import { type ChildProcess, execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnRedisServer, stopProcess } from './redis-test.server';
import {
  findFreePorts,
  guardFolder,
  guardProcess,
  type HostPort,
  hostPort,
  isRunning,
  parseInfo,
  pollUntil,
  redisCommand,
  register,
  removeFolder,
  roleOf,
} from './redis-topology.support';

const SLOTS = 16_384;
/** A node's cluster bus listens at its port + 10000. */
const BUS_OFFSET = 10_000;

export interface RedisClusterOptions {
  /** At least 3 (what `redis-cli --cluster create` requires). */
  primaries?: number;
  replicasPerPrimary?: number;
  /** Passed on to every node at every (re)start. */
  serverArgs?: readonly string[];
  /** requirepass and masterauth of every node. */
  password?: string;
  /** cluster-node-timeout: how long a node may not answer before it is failed over. */
  nodeTimeoutMs?: number;
  /** How long start, failover and restart may take before they reject. */
  timeoutMs?: number;
}

export interface LocalRedisCluster {
  /** Every node, primaries and replicas, as started. */
  readonly nodes: readonly HostPort[];
  /** Where a cluster client may start: every node (a client needs one that answers). */
  readonly seeds: readonly HostPort[];
  readonly password: string | undefined;
  /** The primaries that own slots now, as a live node sees them; `pid` if the process is this set-up's. */
  primaries(): Promise<(HostPort & { pid?: number })[]>;
  /**
   * SIGKILLs the primary that owns `key`'s slot and resolves once one of its replicas owns the slot, answers ROLE as
   * master, and every live node sees it so with `cluster_state:ok`; `failoverMs` is from the kill until then.
   */
  killPrimaryOf(key: string): Promise<{ killed: HostPort; promoted: HostPort; failoverMs: number }>;
  /** Starts a killed node again (same port and nodes.conf) and resolves once it is back in the cluster (as a replica if it was failed over). */
  restartNode(port: number): Promise<void>;
  /** Every process id this set-up has started (killed and restarted ones too). */
  pids(): number[];
  /** Stops every node and removes the temporary folder; also after kills, and more than once. */
  stop(): Promise<void>;
}

interface ClusterNodeLine {
  id: string;
  port: number;
  flags: string[];
  primaryId: string | undefined;
  slots: [number, number][];
}

/** CLUSTER NODES: `<id> <ip:port@bus> <flags> <primary id|-> <ping> <pong> <epoch> <link> <slot ranges…>`. */
export function parseClusterNodes(text: unknown): ClusterNodeLine[] {
  return String(text)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, address, flags, primaryId, , , , , ...slots] = line.trim().split(' ');
      return {
        id,
        port: Number(address.split('@')[0].split(':').at(-1)),
        flags: flags.split(','),
        primaryId: primaryId === '-' ? undefined : primaryId,
        slots: slots
          .filter((range) => !range.startsWith('['))
          .map((range) => {
            const [from, to = from] = range.split('-').map(Number);
            return [from, to] as [number, number];
          }),
      };
    });
}

const failed = (node: ClusterNodeLine) => node.flags.includes('fail') || node.flags.includes('fail?');
const owns = (node: ClusterNodeLine, slot: number) => node.slots.some(([from, to]) => slot >= from && slot <= to);

/**
 * Starts a Redis Cluster of private redis-servers on loopback ports (each with a free port + 10000 for its bus), in a
 * temporary folder, and resolves once every node reports `cluster_state:ok` with all 16384 slots and every replica's
 * link to its primary is up.
 */
export async function startRedisCluster({
  primaries = 3,
  replicasPerPrimary = 1,
  serverArgs = [],
  password,
  nodeTimeoutMs = 1_000,
  timeoutMs = 30_000,
}: RedisClusterOptions = {}): Promise<LocalRedisCluster> {
  if (primaries < 3) throw new Error('A Redis Cluster needs at least 3 primaries');
  const total = primaries * (1 + replicasPerPrimary);
  const ports = await findFreePorts(total, { alsoFreeAt: BUS_OFFSET });
  const folder = guardFolder(mkdtempSync(join(tmpdir(), 'redis-cluster-')));
  const auth = password === undefined ? [] : ['--requirepass', password, '--masterauth', password];
  const argsOf = (port: number) => {
    const dir = join(folder, String(port)); // a replica's full sync writes dump.rdb there
    mkdirSync(dir, { recursive: true });
    return [
      '--dir', dir,
      '--cluster-enabled', 'yes',
      '--cluster-config-file', join(folder, `nodes-${port}.conf`),
      '--cluster-node-timeout', String(nodeTimeoutMs),
      '--cluster-replica-no-failover', 'no',
      // A primary waits 5 s by default before a diskless full sync, for more replicas to share it.
      '--repl-diskless-sync-delay', '0',
      ...auth,
      ...serverArgs,
    ];
  };
  const children = new Map<number, ChildProcess>();
  const allPids: number[] = [];
  const start = async (port: number) => {
    const child = guardProcess(await spawnRedisServer(port, argsOf(port)));
    children.set(port, child);
    if (child.pid !== undefined) allPids.push(child.pid);
  };
  const live = () => ports.filter((port) => isRunning(children.get(port))).map(hostPort);
  const command = (node: HostPort, args: (string | number)[]) => redisCommand(node, args, password);

  /** Resolves once `nodes` all report cluster_state:ok over all slots and their replicas' links are up. */
  const healthy = async (note: (state: string) => void, nodes: readonly HostPort[]) => {
    for (const node of nodes) {
      const info = parseInfo(await command(node, ['CLUSTER', 'INFO']));
      if (
        info['cluster_state'] !== 'ok' ||
        Number(info['cluster_slots_ok']) !== SLOTS ||
        Number(info['cluster_known_nodes']) !== total
      ) {
        const { cluster_state, cluster_slots_ok, cluster_known_nodes } = info;
        note(`${node.port}: ${JSON.stringify({ cluster_state, cluster_slots_ok, cluster_known_nodes })}`);
        return false;
      }
      const role = await roleOf(node, password);
      if (role.role === 'slave' && !role.linkUp) {
        note(`${node.port}: replica of ${role.primaryPort}, link down`);
        return false;
      }
    }
    return true;
  };

  const stop = async () => {
    await Promise.all(
      [...children.values()].map(async (child) => {
        child.kill('SIGCONT');
        await stopProcess(child);
      }),
    );
    removeFolder(folder);
  };

  const cluster: LocalRedisCluster = {
    nodes: ports.map(hostPort),
    seeds: ports.map(hostPort),
    password,
    primaries: async () => {
      const [node] = live();
      if (!node) throw new Error('No node of the cluster is running');
      return parseClusterNodes(await command(node, ['CLUSTER', 'NODES']))
        .filter((line) => line.flags.includes('master') && !failed(line) && line.slots.length > 0)
        .map((line) => {
          const child = children.get(line.port);
          return { ...hostPort(line.port), ...(isRunning(child) ? { pid: child.pid } : {}) };
        });
    },
    killPrimaryOf: async (key) => {
      const [asked] = live();
      if (!asked) throw new Error('No node of the cluster is running');
      const slot = Number(await command(asked, ['CLUSTER', 'KEYSLOT', key]));
      const view = parseClusterNodes(await command(asked, ['CLUSTER', 'NODES']));
      const owner = view.find((line) => line.flags.includes('master') && !failed(line) && owns(line, slot));
      if (!owner) throw new Error(`No live primary owns slot ${slot} (of '${key}')`);
      const child = children.get(owner.port);
      if (!isRunning(child)) throw new Error(`The primary of slot ${slot}, port ${owner.port}, is not this set-up's to kill`);
      const replicaPorts = view.filter((line) => line.primaryId === owner.id).map((line) => line.port);
      if (replicaPorts.length === 0) throw new Error(`The primary at ${owner.port} has no replica to fail over to`);
      const began = performance.now();
      child.kill('SIGKILL');
      const promoted = await pollUntil(
        async (note) => {
          const others = live().filter((node) => node.port !== owner.port);
          let newOwner: number | undefined;
          for (const node of others) {
            const line = parseClusterNodes(await command(node, ['CLUSTER', 'NODES'])).find(
              (candidate) => candidate.flags.includes('master') && !failed(candidate) && owns(candidate, slot),
            );
            if (!line || !replicaPorts.includes(line.port) || (newOwner !== undefined && line.port !== newOwner)) {
              note(`${node.port} sees slot ${slot} at ${line?.port ?? 'no live primary'} (replicas: ${replicaPorts.join(', ')})`);
              return undefined;
            }
            newOwner = line.port;
          }
          if (newOwner === undefined || (await roleOf(hostPort(newOwner), password)).role !== 'master') return undefined;
          return (await healthy(note, others)) && newOwner;
        },
        { timeoutMs, what: `Failover of slot ${slot} from the primary at ${owner.port}` },
      );
      return { killed: hostPort(owner.port), promoted: hostPort(promoted), failoverMs: Math.round(performance.now() - began) };
    },
    restartNode: async (port) => {
      if (!children.has(port)) throw new Error(`Port ${port} is no node of this cluster`);
      if (isRunning(children.get(port))) throw new Error(`The node at ${port} is running`);
      await start(port);
      await pollUntil(
        async (note) => {
          // A failed-over primary comes back as a primary without slots until the others tell it the slots'
          // new owner, and it turns into that owner's replica: wait until it and the others agree on its role.
          const { role } = await roleOf(hostPort(port), password);
          for (const node of live().filter((other) => other.port !== port)) {
            const line = parseClusterNodes(await command(node, ['CLUSTER', 'NODES'])).find((candidate) => candidate.port === port);
            const seenAs = line?.flags.includes('slave') ? 'slave' : line?.slots.length ? 'master' : undefined;
            if (!line || failed(line) || seenAs !== role) {
              note(`${node.port} sees ${port} as ${line?.flags.join(',') ?? 'unknown'} with ${line?.slots.length ?? 0} slot ranges; it answers ROLE ${role}`);
              return false;
            }
          }
          return healthy(note, [hostPort(port)]);
        },
        { timeoutMs, what: `Node ${port} rejoining the cluster` },
      );
    },
    pids: () => [...allPids],
    stop,
  };
  register(cluster);

  try {
    await Promise.all(ports.map(start));
    const cli = promisify(execFile);
    await cli(
      'redis-cli',
      [
        '--cluster', 'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas', String(replicasPerPrimary),
        '--cluster-yes',
        ...(password === undefined ? [] : ['-a', password, '--no-auth-warning']),
      ],
      { timeout: timeoutMs },
    );
    await pollUntil(async (note) => healthy(note, live()), { timeoutMs, what: `Cluster of ${ports.join(', ')} ready` });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
