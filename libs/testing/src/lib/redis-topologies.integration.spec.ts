/*
 * The cluster and Sentinel set-ups on real redis-servers: ioredis clients work through them, a killed primary is
 * failed over to a former replica, and stop() leaves no process behind.
 */
import { Cluster, Redis } from 'ioredis';
import { type LocalRedisCluster, startRedisCluster } from './redis-cluster';
import { stopAllRedisTopologies } from './redis-topology.support';

jest.setTimeout(60_000);

afterAll(() => stopAllRedisTopologies());

function expectAllExited(pids: readonly number[]): void {
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  expect(alive).toEqual([]);
}

describe('startRedisCluster', () => {
  let redis: LocalRedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    redis = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    client = new Cluster([...redis.seeds], { redisOptions: { password: redis.password } });
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('serves a cluster client; a killed primary fails over to its replica and writes work again', async () => {
    expect(redis.nodes).toHaveLength(6);
    const keys = Array.from({ length: 50 }, (_, i) => `key:${i}`);
    for (const key of keys) await client.set(key, `value of ${key}`);
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys.map((key) => `value of ${key}`));
    const before = await redis.primaries();
    expect(before).toHaveLength(3);

    const { killed, promoted, failoverMs } = await redis.killPrimaryOf('key:0');
    expect(failoverMs).toBeLessThan(15_000);
    expect(before.map((node) => node.port)).toContain(killed.port);
    expect(before.map((node) => node.port)).not.toContain(promoted.port);
    expect(redis.nodes.map((node) => node.port)).toContain(promoted.port);
    const after = await redis.primaries();
    expect(after.map((node) => node.port).sort()).toEqual(
      [...before.map((node) => node.port).filter((port) => port !== killed.port), promoted.port].sort(),
    );

    await client.set('key:0', 'after the failover');
    expect(await client.get('key:0')).toBe('after the failover');

    await redis.restartNode(killed.port);
    expect((await redis.primaries()).map((node) => node.port)).not.toContain(killed.port);

    const pids = redis.pids();
    expect(pids).toHaveLength(7); // six started, one restarted
    await redis.stop();
    expectAllExited(pids);
  });
});
