import { envChoice, envInteger, envLogging, envRedisUrl } from './environment';

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
