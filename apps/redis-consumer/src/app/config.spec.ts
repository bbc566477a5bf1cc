import { loadConfig } from './config';

describe('redis-consumer configuration', () => {
  it('has working defaults', () => {
    expect(loadConfig({})).toEqual({ redisUrl: 'redis://localhost:6379', parentMode: 'parent' });
  });

  it('reads REDIS_URL and TRACE_PARENT_MODE', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://user:pw@cache:6380', TRACE_PARENT_MODE: 'link' })).toEqual({
      redisUrl: 'rediss://user:pw@cache:6380',
      parentMode: 'link',
    });
  });

  it('rejects an unknown TRACE_PARENT_MODE, naming the variable', () => {
    expect(() => loadConfig({ TRACE_PARENT_MODE: 'child' })).toThrow(/TRACE_PARENT_MODE="child" is invalid/);
  });

  it('rejects a REDIS_URL that is not a redis:// URL, naming the variable', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://cache' })).toThrow(/REDIS_URL "http:\/\/cache" must start with/);
  });
});
