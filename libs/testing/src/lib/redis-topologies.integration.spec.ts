/*
 * The cluster and Sentinel set-ups on real redis-servers: ioredis clients work through them, a killed primary is
 * failed over to a former replica, and stop() leaves no process behind.
 */
import { Cluster, Redis } from 'ioredis';
import { type LocalRedisCluster, startRedisCluster } from './redis-cluster';
import { type LocalRedisSentinel, startRedisSentinel } from './redis-sentinel';
import { parseInfo, redisCommand, roleOf, stopAllRedisTopologies } from './redis-topology.support';

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
    // A second disconnect() leaves a 2 s timer behind (ioredis ends the closed stream again): only if still open.
    if (client?.status !== 'end') client?.disconnect();
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
    expect(await roleOf(killed, redis.password)).toEqual({ role: 'slave', linkUp: true, primaryPort: promoted.port });

    const pids = redis.pids();
    expect(pids).toHaveLength(7); // six started, one restarted
    client.disconnect();
    await redis.stop();
    expectAllExited(pids);
  });
});

describe('startRedisSentinel', () => {
  let redis: LocalRedisSentinel;
  let client: Redis;
  const clientErrors: string[] = [];

  beforeAll(async () => {
    redis = await startRedisSentinel({ replicas: 1, sentinels: 3 });
    client = new Redis({ sentinels: [...redis.sentinels], name: redis.masterName });
    // While the sentinels still name the killed primary, the client reports each failed attempt as an error event.
    client.on('error', (error: Error) => clientErrors.push(error.message));
  });

  afterAll(async () => {
    // A second disconnect() leaves a 2 s timer behind (ioredis ends the closed stream again): only if still open.
    if (client?.status !== 'end') client?.disconnect();
    await redis?.stop();
  });

  const servingPort = async () => Number(parseInfo(await client.info('server'))['tcp_port']);

  it('serves a Sentinel client; a killed primary fails over to the replica, the client follows and writes work', async () => {
    expect(redis.nodes).toHaveLength(2);
    expect(redis.sentinels).toHaveLength(3);
    const first = await redis.primary();
    await client.set('greeting', 'hello');
    expect(await client.get('greeting')).toBe('hello');
    expect(await servingPort()).toBe(first.port);

    const { killed, promoted, failoverMs } = await redis.killPrimary();
    expect(killed).toEqual(first);
    expect(failoverMs).toBeLessThan(15_000);
    expect(promoted.port).not.toBe(first.port);
    expect(redis.nodes.map((node) => node.port)).toContain(promoted.port);
    expect(await redis.primary()).toEqual(promoted);

    await client.set('greeting', 'after the failover');
    expect(await client.get('greeting')).toBe('after the failover');
    expect(await servingPort()).toBe(promoted.port);

    await redis.restartNode(killed.port);
    expect(await redis.primary()).toEqual(promoted);
    expect(await roleOf(killed, redis.password)).toEqual({ role: 'slave', linkUp: true, primaryPort: promoted.port });

    const pids = redis.pids();
    expect(pids).toHaveLength(6); // two nodes, three sentinels, one restart
    client.disconnect();
    await redis.stop();
    expectAllExited(pids);
  });
});

describe('with passwords (requirepass and masterauth on the nodes, auth-pass and requirepass on the sentinels)', () => {
  it('a cluster fails over and takes the restarted node back', async () => {
    const redis = await startRedisCluster({ password: 'cluster secret' });
    const client = new Cluster([...redis.seeds], { redisOptions: { password: redis.password } });
    try {
      await client.set('a', '1');
      const { killed } = await redis.killPrimaryOf('a');
      await redis.restartNode(killed.port);
      expect(await client.get('a')).toBe('1');
      await expect(redisCommand(killed, ['PING'])).rejects.toThrow(/NOAUTH/);
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });

  it('a Sentinel set-up fails over and takes the restarted node back', async () => {
    const redis = await startRedisSentinel({ password: 'node secret', sentinelPassword: 'sentinel "secret"', replicas: 2 });
    const client = new Redis({
      sentinels: [...redis.sentinels],
      name: redis.masterName,
      password: redis.password,
      sentinelPassword: redis.sentinelPassword,
    });
    client.on('error', () => undefined); // during the failover, as above
    try {
      await client.set('a', '1');
      const { killed } = await redis.killPrimary();
      await redis.restartNode(killed.port);
      expect(await client.get('a')).toBe('1');
      await expect(redisCommand(redis.sentinels[0], ['PING'])).rejects.toThrow(/NOAUTH/);
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });
});
