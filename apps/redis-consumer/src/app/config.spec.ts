import { loadConfig } from './config';

describe('redis-consumer configuration', () => {
  it('has working defaults', () => {
    expect(loadConfig({})).toEqual({
      redis: { url: 'redis://localhost:6379' },
      parentMode: 'parent',
      healthPort: 3001,
      maxMessageBytes: 1048576,
      maxMessageDepth: 32,
      deadLetterKey: 'redis-consumer:dead-letters',
      deadLetterMaxEntries: 1000,
      clockSkewAllowanceMs: 100,
      logging: { level: 'info', format: expect.stringMatching(/^(json|pretty)$/) },
      traceContextValidation: false,
      messagingTransport: 'pubsub',
      streams: { group: 'redis-consumer', claimIdleMs: 30_000, maxDeliveries: 5, concurrency: 16, partitions: 1 },
    });
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        REDIS_URL: 'rediss://user:pw@cache:6380',
        TRACE_PARENT_MODE: 'link',
        HEALTH_PORT: '9001',
        MAX_MESSAGE_BYTES: '65536',
        MAX_MESSAGE_DEPTH: '16',
        DEAD_LETTER_KEY: 'dlq',
        DEAD_LETTER_MAX_ENTRIES: '0',
        CLOCK_SKEW_ALLOWANCE_MS: '0',
        LOG_LEVEL: 'debug',
        LOG_FORMAT: 'json',
        TRACECONTEXT_VALIDATION: '1',
        MESSAGING_TRANSPORT: 'streams',
        STREAMS_GROUP: 'workers',
        STREAMS_CONSUMER: 'worker-1',
        STREAMS_CLAIM_IDLE_MS: '5000',
        STREAMS_MAX_DELIVERIES: '3',
        STREAMS_CONCURRENCY: '4',
        STREAMS_PARTITIONS: '3',
      }),
    ).toEqual({
      redis: { url: 'rediss://user:pw@cache:6380' },
      parentMode: 'link',
      healthPort: 9001,
      maxMessageBytes: 65536,
      maxMessageDepth: 16,
      deadLetterKey: 'dlq',
      deadLetterMaxEntries: 0,
      clockSkewAllowanceMs: 0,
      logging: { level: 'debug', format: 'json' },
      traceContextValidation: true,
      messagingTransport: 'streams',
      streams: { group: 'workers', consumer: 'worker-1', claimIdleMs: 5000, maxDeliveries: 3, concurrency: 4, partitions: 3 },
    });
  });

  it('rejects an unknown TRACE_PARENT_MODE, naming the variable', () => {
    expect(() => loadConfig({ TRACE_PARENT_MODE: 'child' })).toThrow(/TRACE_PARENT_MODE="child" is invalid/);
  });

  it('rejects a HEALTH_PORT that is not a port, naming the variable', () => {
    expect(() => loadConfig({ HEALTH_PORT: 'http' })).toThrow('HEALTH_PORT="http" is invalid: expected an integer from 0 to 65535');
  });

  it('rejects a MAX_MESSAGE_DEPTH out of 8 to 256, naming the variable', () => {
    expect(() => loadConfig({ MAX_MESSAGE_DEPTH: '5000' })).toThrow('MAX_MESSAGE_DEPTH="5000" is invalid: expected an integer from 8 to 256');
  });

  it('rejects an unknown MESSAGING_TRANSPORT and a claim idle time under 100 ms, naming the variable', () => {
    expect(() => loadConfig({ MESSAGING_TRANSPORT: 'nats' })).toThrow(/MESSAGING_TRANSPORT="nats" is invalid/);
    expect(() => loadConfig({ STREAMS_CLAIM_IDLE_MS: '5' })).toThrow(/STREAMS_CLAIM_IDLE_MS="5" is invalid/);
    expect(() => loadConfig({ STREAMS_CONCURRENCY: '0' })).toThrow(/STREAMS_CONCURRENCY="0" is invalid: expected an integer from 1 to 1000/);
  });

  it('rejects a CLOCK_SKEW_ALLOWANCE_MS over a minute, naming the variable', () => {
    expect(() => loadConfig({ CLOCK_SKEW_ALLOWANCE_MS: '60001' })).toThrow(/CLOCK_SKEW_ALLOWANCE_MS="60001" is invalid/);
  });

  it('rejects a REDIS_URL that is not a redis:// URL, naming the variable', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://cache' })).toThrow(/REDIS_URL "http:\/\/cache" must start with/);
  });
});
