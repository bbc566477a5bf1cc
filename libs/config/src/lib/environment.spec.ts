import { envAddresses, envChoice, envInteger, envLogging, envRedisTopology, envRedisUrl } from './environment';

describe('envInteger', () => {
  it('reads an integer in range, and falls back when unset or empty', () => {
    expect(envInteger({ PORT: '8080' }, 'PORT', 3000, 0, 65535)).toBe(8080);
    expect(envInteger({}, 'PORT', 3000, 0, 65535)).toBe(3000);
    expect(envInteger({ PORT: '' }, 'PORT', 3000, 0, 65535)).toBe(3000);
  });

  it.each(['abc', '3.5', '70000', '-1', '1e3', '0x10', ' '])('rejects %j, naming the variable and the range', (raw) => {
    expect(() => envInteger({ PORT: raw }, 'PORT', 3000, 0, 65535)).toThrow(
      `PORT="${raw}" is invalid: expected an integer from 0 to 65535`,
    );
  });
});

describe('envChoice', () => {
  it('reads one of the choices; the first is the default', () => {
    expect(envChoice({ MODE: 'link' }, 'MODE', ['parent', 'link'])).toBe('link');
    expect(envChoice({}, 'MODE', ['parent', 'link'])).toBe('parent');
  });

  it('rejects anything else, listing the choices', () => {
    expect(() => envChoice({ MODE: 'Link' }, 'MODE', ['parent', 'link'])).toThrow('MODE="Link" is invalid: expected "parent" or "link"');
  });
});

describe('envRedisUrl', () => {
  it('defaults to the local Redis and accepts redis:// and rediss:// URLs', () => {
    expect(envRedisUrl({})).toBe('redis://localhost:6379');
    expect(envRedisUrl({ REDIS_URL: 'rediss://app:pw@cache:6380/2' })).toBe('rediss://app:pw@cache:6380/2');
  });

  it.each([
    'redis://:abc/def+ghi@host:6379',
    'redis://app:abc/def+ghi@host:6379/0',
    'redis://app:a?b#c@host',
    'redis://app:p@ss w0rd/ünï@host:99999',
  ])('refuses %s without showing its password (base64 secrets hold "/")', (url) => {
    let message = '';
    try {
      envRedisUrl({ REDIS_URL: url });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^REDIS_URL "redis:\/\/(app)?:\*\*\*@host/);
    expect(message).toMatch(/percent-encode/);
    expect(message).not.toMatch(/abc|def|ghi|a\?b|p@ss|w0rd|ünï/);
  });

  it('rejects what Redis would refuse, naming REDIS_URL', () => {
    expect(() => envRedisUrl({ REDIS_URL: 'http://cache' })).toThrow(/^REDIS_URL "http:\/\/cache" must start with/);
  });
});

describe('envLogging', () => {
  it('is info, pretty in a terminal outside production, JSON elsewhere', () => {
    expect(envLogging({}, true)).toEqual({ level: 'info', format: 'pretty' });
    expect(envLogging({ NODE_ENV: 'production' }, true)).toEqual({ level: 'info', format: 'json' });
    expect(envLogging({}, false)).toEqual({ level: 'info', format: 'json' });
  });

  it('reads LOG_LEVEL and LOG_FORMAT, naming them when they are wrong', () => {
    expect(envLogging({ LOG_LEVEL: 'debug', LOG_FORMAT: 'json' }, true)).toEqual({ level: 'debug', format: 'json' });
    expect(() => envLogging({ LOG_LEVEL: 'loud' }, false)).toThrow('LOG_LEVEL="loud" is invalid');
    expect(() => envLogging({ LOG_FORMAT: 'yaml' }, false)).toThrow('LOG_FORMAT="yaml" is invalid');
  });
});

describe('envRedisTopology', () => {
  it('is REDIS_URL (default the local Redis) when neither sentinels nor cluster nodes are set', () => {
    expect(envRedisTopology({})).toEqual({ url: 'redis://localhost:6379' });
    expect(envRedisTopology({ REDIS_URL: 'redis://cache:6380/1' })).toEqual({ url: 'redis://cache:6380/1' });
  });

  it('reads REDIS_SENTINELS with the primary name (default mymaster), node and sentinel credentials, database, TLS', () => {
    expect(
      envRedisTopology({
        REDIS_SENTINELS: 's1:26379, s2 ,[::1]:26380',
        REDIS_SENTINEL_NAME: 'items',
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: 'p@ss:word',
        REDIS_DB: '2',
        REDIS_TLS: 'true',
        REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
      }),
    ).toEqual({
      sentinel: {
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26379 },
          { host: '::1', port: 26380 },
        ],
        name: 'items',
        username: 'app',
        password: 'p@ss:word',
        db: 2,
        tls: true,
        sentinelPassword: 'sentinel-secret',
      },
    });
    expect(envRedisTopology({ REDIS_SENTINELS: 's1:26379' })).toEqual({ sentinel: { sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster' } });
  });

  it('reads REDIS_CLUSTER_NODES with sharded pub/sub by default, or global', () => {
    expect(envRedisTopology({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001', REDIS_PASSWORD: 'secret' })).toEqual({
      cluster: { nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], password: 'secret', pubsub: 'sharded' },
    });
    expect(envRedisTopology({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_CLUSTER_PUBSUB: 'global' })).toMatchObject({ cluster: { pubsub: 'global' } });
  });

  it('refuses two topologies at once, and settings of a topology that is not the chosen one', () => {
    expect(() => envRedisTopology({ REDIS_URL: 'redis://a', REDIS_SENTINELS: 's:1' })).toThrow(
      'REDIS_URL and REDIS_SENTINELS are both set: set one of REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES',
    );
    expect(() => envRedisTopology({ REDIS_SENTINELS: 's:1', REDIS_CLUSTER_NODES: 'n:1' })).toThrow(/both set/);
    expect(() => envRedisTopology({ REDIS_PASSWORD: 'x' })).toThrow('REDIS_PASSWORD applies only with REDIS_SENTINELS or REDIS_CLUSTER_NODES');
    expect(() => envRedisTopology({ REDIS_CLUSTER_NODES: 'n:1', REDIS_DB: '1' })).toThrow('REDIS_DB applies only with REDIS_SENTINELS (a cluster has database 0 only)');
    expect(() => envRedisTopology({ REDIS_SENTINELS: 's:1', REDIS_CLUSTER_PUBSUB: 'global' })).toThrow('REDIS_CLUSTER_PUBSUB applies only with REDIS_CLUSTER_NODES');
    expect(() => envRedisTopology({ REDIS_CLUSTER_NODES: 'n:1', REDIS_CLUSTER_PUBSUB: 'broadcast' })).toThrow(
      'REDIS_CLUSTER_PUBSUB="broadcast" is invalid: expected "sharded" or "global"',
    );
    expect(() => envRedisTopology({ REDIS_SENTINELS: 's:1', REDIS_TLS: 'yes' })).toThrow('REDIS_TLS="yes" is invalid');
  });
});

describe('envAddresses', () => {
  it.each(['', ' , ', 'host:0', 'host:70000', 'host:port', 'redis://host:1', 'user@host:1'])('rejects %j, naming the variable', (raw) => {
    expect(() => envAddresses({ NODES: raw }, 'NODES', 6379)).toThrow(/^NODES/);
  });
});
