import { loadConfig } from './config';

describe('redis-consumer configuration', () => {
  it('has working defaults', () => {
    expect(loadConfig({})).toEqual({
      redisUrl: 'redis://localhost:6379',
      parentMode: 'parent',
      healthPort: 3001,
      maxMessageBytes: 1048576,
      deadLetterKey: 'redis-consumer:dead-letters',
      deadLetterMaxEntries: 1000,
      logging: { level: 'info', format: expect.stringMatching(/^(json|pretty)$/) },
      traceContextValidation: false,
    });
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        REDIS_URL: 'rediss://user:pw@cache:6380',
        TRACE_PARENT_MODE: 'link',
        HEALTH_PORT: '9001',
        MAX_MESSAGE_BYTES: '65536',
        DEAD_LETTER_KEY: 'dlq',
        DEAD_LETTER_MAX_ENTRIES: '0',
        LOG_LEVEL: 'debug',
        LOG_FORMAT: 'json',
        TRACECONTEXT_VALIDATION: '1',
      }),
    ).toEqual({
      redisUrl: 'rediss://user:pw@cache:6380',
      parentMode: 'link',
      healthPort: 9001,
      maxMessageBytes: 65536,
      deadLetterKey: 'dlq',
      deadLetterMaxEntries: 0,
      logging: { level: 'debug', format: 'json' },
      traceContextValidation: true,
    });
  });

  it('rejects an unknown TRACE_PARENT_MODE, naming the variable', () => {
    expect(() => loadConfig({ TRACE_PARENT_MODE: 'child' })).toThrow(/TRACE_PARENT_MODE="child" is invalid/);
  });

  it('rejects a HEALTH_PORT that is not a port, naming the variable', () => {
    expect(() => loadConfig({ HEALTH_PORT: 'http' })).toThrow('HEALTH_PORT="http" is invalid: expected an integer from 0 to 65535');
  });

  it('rejects a REDIS_URL that is not a redis:// URL, naming the variable', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://cache' })).toThrow(/REDIS_URL "http:\/\/cache" must start with/);
  });
});
