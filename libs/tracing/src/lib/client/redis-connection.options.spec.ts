/*
 * Why this suite exists: every Redis connection of the client, the server and the apps' config is built from one
 * REDIS_URL by redisConnectionOptions. A misread URL silently connects to the wrong database or without TLS, and a
 * missing retry setting leaves a service deaf after a Redis restart; a bad URL must fail at start-up, clearly.
 */
import { DEFAULT_REDIS_RETRY_DELAY_MS, DEFAULT_REDIS_URL } from '../constants';
import { redactRedisUrl, redisConnectionOptions } from './redis-connection.options';

/** What every result carries: Nest's Redis client and server give up at the first disconnect without it. */
const RECONNECT_FOREVER = { retryAttempts: Number.MAX_SAFE_INTEGER, retryDelay: DEFAULT_REDIS_RETRY_DELAY_MS };

describe('redisConnectionOptions', () => {
  it('connects to redis://localhost:6379 when no URL is given, reconnecting forever every second', () => {
    expect(DEFAULT_REDIS_URL).toBe('redis://localhost:6379');
    expect(redisConnectionOptions()).toStrictEqual({ host: 'localhost', port: 6379, ...RECONNECT_FOREVER });
    expect(RECONNECT_FOREVER.retryDelay).toBe(1000);
  });

  it('reads host and port, defaulting the port to 6379', () => {
    expect(redisConnectionOptions('redis://cache.internal:6380')).toStrictEqual({
      host: 'cache.internal',
      port: 6380,
      ...RECONNECT_FOREVER,
    });
    expect(redisConnectionOptions('redis://cache.internal')).toMatchObject({ host: 'cache.internal', port: 6379 });
  });

  it('reads an IPv6 host without its brackets', () => {
    expect(redisConnectionOptions('redis://[::1]:6390')).toMatchObject({ host: '::1', port: 6390 });
  });

  it('falls back to localhost when the URL names no host', () => {
    expect(redisConnectionOptions('redis://')).toMatchObject({ host: 'localhost', port: 6379 });
  });

  it('reads user, password and database, percent-decoding the credentials', () => {
    expect(redisConnectionOptions('redis://app%40eu:p%40ss%3Aw0rd@cache:6380/2')).toStrictEqual({
      host: 'cache',
      port: 6380,
      username: 'app@eu',
      password: 'p@ss:w0rd',
      db: 2,
      ...RECONNECT_FOREVER,
    });
  });

  it('reads a password without a user (Redis before ACLs), adding no username', () => {
    const options = redisConnectionOptions('redis://:secret@cache');
    expect(options).toMatchObject({ password: 'secret' });
    expect(options).not.toHaveProperty('username');
  });

  it('reads database 0, and adds no db for an empty path', () => {
    expect(redisConnectionOptions('redis://cache/0')).toMatchObject({ db: 0 });
    expect(redisConnectionOptions('redis://cache/')).not.toHaveProperty('db');
  });

  it('turns TLS on for rediss:// only', () => {
    expect(redisConnectionOptions('rediss://cache:6380')).toStrictEqual({
      host: 'cache',
      port: 6380,
      tls: {},
      ...RECONNECT_FOREVER,
    });
    expect(redisConnectionOptions('redis://cache:6380')).not.toHaveProperty('tls');
  });

  it('rejects what is not a URL, showing the expected form', () => {
    expect(() => redisConnectionOptions('cache.internal')).toThrow(
      'REDIS_URL "cache.internal" is not a URL: expected redis://[user:password@]host[:port][/db]',
    );
    expect(() => redisConnectionOptions('')).toThrow(/REDIS_URL "" is not a URL/);
    expect(() => redisConnectionOptions('redis://cache:99999')).toThrow(/is not a URL/);
  });

  it.each(['http://cache:6379', 'tcp://cache:6379', 'unix:///var/run/redis.sock'])(
    'rejects the scheme of %s, naming the accepted ones',
    (url) => {
      expect(() => redisConnectionOptions(url)).toThrow(`REDIS_URL "${url}" must start with redis:// or rediss://`);
    },
  );

  it.each(['redis://cache/db1', 'redis://cache/1.5', 'redis://cache/2/3', 'redis://cache/%201'])(
    'rejects a path that is not a database number: %s',
    (url) => {
      expect(() => redisConnectionOptions(url)).toThrow(`REDIS_URL "${url}": the path must be a database number`);
    },
  );

  it('rejects a negative database number, which Redis refuses at every (re)connection', () => {
    expect(() => redisConnectionOptions('redis://cache/-1')).toThrow(/the path must be a database number/);
  });

  it('rejects a password with a stray "%" with an error naming REDIS_URL, not a bare URIError', () => {
    expect(() => redisConnectionOptions('redis://:50%off@cache')).toThrow(/REDIS_URL/);
  });

  it('never puts the password of a rejected URL in its error message (it ends up in logs)', () => {
    const messages = ['http://app:s3cr3t-pw@cache', 'redis://app:s3cr3t-pw@cache/db1'].map((url) => {
      try {
        redisConnectionOptions(url);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`${url} was accepted`);
    });
    expect(messages).toHaveLength(2);
    for (const message of messages) {
      expect(message).toContain('REDIS_URL');
      expect(message).not.toContain('s3cr3t-pw');
    }
  });

  it('refuses a password holding an unencoded / ? # or @, saying how to write it, without showing it', () => {
    for (const url of ['redis://:abc/def+ghi@host:6379', 'redis://app:12/3@host', 'redis://app:12?x@host', 'redis://:p#w@host']) {
      let message = '';
      try {
        redisConnectionOptions(url);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/percent-encode/);
      expect(message).not.toMatch(/abc|def|ghi|12|p#w/);
    }
  });
});

describe('redactRedisUrl (a Redis URL as it may be shown in a message or a log)', () => {
  /** Every character class a password may hold, base64's / + = included, and what URLs cannot hold unencoded. */
  const PASSWORDS = [
    'abc/def+ghi=',
    'a?b',
    'a#b',
    'a@b@c',
    'a:b:c',
    '50%off',
    'p%40ss',
    'with space',
    'ünïcødé🔑',
    'tab\there',
    '//',
    '@',
    ':',
    '',
  ];

  it.each(PASSWORDS)('shows no character of the password %j, keeps the user, host, port and database', (password) => {
    const shown = redactRedisUrl(`rediss://app:${password}@cache.internal:6380/2`);
    expect(shown).toBe('rediss://app:***@cache.internal:6380/2');
  });

  it.each(PASSWORDS.filter((password) => password !== ''))('hides a password %j given without a user', (password) => {
    expect(redactRedisUrl(`redis://:${password}@cache:6379`)).toBe('redis://:***@cache:6379');
  });

  it('hides a lone userinfo whole (some clients read it as the password)', () => {
    expect(redactRedisUrl('redis://s3cret@cache')).toBe('redis://***@cache');
  });

  it('hides a user that is not a plain URL user (the split between user and password is then unknown)', () => {
    expect(redactRedisUrl('redis://us/er:pw@cache')).toBe('redis://***@cache');
  });

  it('hides userinfo in strings that are not URLs at all: no scheme, one slash, spaces', () => {
    expect(redactRedisUrl('app:pw/x@cache:6379')).toBe('app:***@cache:6379');
    expect(redactRedisUrl('redis:/app:pw@cache')).toBe('redis:/app:***@cache');
    expect(redactRedisUrl('redis://app:a b c@cache')).toBe('redis://app:***@cache');
  });

  it('leaves a URL without userinfo as it is', () => {
    for (const url of ['redis://cache:6379/0', 'redis://[::1]:6390', 'cache.internal', 'not a url', '']) {
      expect(redactRedisUrl(url)).toBe(url);
    }
  });

  it('is what every error of redisConnectionOptions shows', () => {
    for (const password of PASSWORDS.filter((password) => password.length > 2)) {
      for (const url of [`redis://app:${password}@cache/db1`, `http://app:${password}@cache`, `redis://app:${password}@cache:99999`]) {
        let message = '';
        try {
          redisConnectionOptions(url);
        } catch (error) {
          message = (error as Error).message;
        }
        expect(message).toContain('REDIS_URL "redis://app:***@cache'.replace('redis', url.split(':')[0]));
        expect(message).not.toContain(password);
      }
    }
  });
});
