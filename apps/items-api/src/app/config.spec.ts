import { loadConfig } from './config';

describe('items-api configuration', () => {
  it('has working defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      redis: { url: 'redis://localhost:6379' },
      replyTimeoutMs: 5000,
      publishTimeoutMs: 1500,
      clockSkewAllowanceMs: 100,
      logging: { level: 'info', format: expect.stringMatching(/^(json|pretty)$/) },
      traceContextValidation: false,
      messagingTransport: 'pubsub',
      streamsMaxLength: 100_000,
      streamsPartitions: 1,
      streamsWaitReplicas: 0,
      streamsWaitTimeoutMs: 100,
    });
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        PORT: '8080',
        REDIS_URL: 'redis://cache:6380/2',
        REPLY_TIMEOUT_MS: '250',
        PUBLISH_TIMEOUT_MS: '100',
        CLOCK_SKEW_ALLOWANCE_MS: '20',
        MESSAGING_TRANSPORT: 'streams',
        STREAMS_MAX_LENGTH: '5000',
        STREAMS_PARTITIONS: '6',
        STREAMS_WAIT_REPLICAS: '1',
        STREAMS_WAIT_TIMEOUT_MS: '50',
      }),
    ).toMatchObject({
      port: 8080,
      redis: { url: 'redis://cache:6380/2' },
      replyTimeoutMs: 250,
      publishTimeoutMs: 100,
      clockSkewAllowanceMs: 20,
      messagingTransport: 'streams',
      streamsMaxLength: 5000,
      streamsPartitions: 6,
      streamsWaitReplicas: 1,
      streamsWaitTimeoutMs: 50,
    });
  });

  it.each([
    [{ LOG_LEVEL: 'verbose' }, /LOG_LEVEL="verbose" is invalid: expected "info" or "debug"/],
    [{ LOG_FORMAT: 'xml' }, /LOG_FORMAT="xml" is invalid/],
    [{ PORT: 'eighty' }, /PORT="eighty" is invalid/],
    [{ CLOCK_SKEW_ALLOWANCE_MS: '-1' }, /CLOCK_SKEW_ALLOWANCE_MS="-1" is invalid/],
    [{ PUBLISH_TIMEOUT_MS: '200' }, /PUBLISH_TIMEOUT_MS=200 must be more than twice CLOCK_SKEW_ALLOWANCE_MS=100/],
    [{ PORT: '70000' }, /PORT="70000" is invalid/],
    [{ REPLY_TIMEOUT_MS: '0' }, /REPLY_TIMEOUT_MS="0" is invalid/],
    [{ MESSAGING_TRANSPORT: 'kafka' }, /MESSAGING_TRANSPORT="kafka" is invalid: expected "pubsub" or "streams"/],
    [{ STREAMS_MAX_LENGTH: '10' }, /STREAMS_MAX_LENGTH="10" is invalid/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL "localhost:6379" must start with redis:\/\//],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL "not a url" is not a URL/],
    [{ STREAMS_PARTITIONS: '0' }, /STREAMS_PARTITIONS="0" is invalid/],
    [{ STREAMS_WAIT_REPLICAS: '1', STREAMS_WAIT_TIMEOUT_MS: '1500' }, /STREAMS_WAIT_TIMEOUT_MS=1500 must be less than PUBLISH_TIMEOUT_MS=1500/],
    [{ REDIS_URL: 'redis://a', REDIS_CLUSTER_NODES: 'n:1' }, /REDIS_URL and REDIS_CLUSTER_NODES are both set/],
  ])('rejects %j with an error naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
