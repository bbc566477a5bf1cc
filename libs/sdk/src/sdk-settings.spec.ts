import { checkSdkSettings } from './sdk-settings';

describe('checkSdkSettings (the OTEL_* values the SDK would replace without a word)', () => {
  it('accepts what is unset, and the documented values', () => {
    expect(checkSdkSettings({})).toEqual([]);
    expect(
      checkSdkSettings({
        OTEL_SDK_DISABLED: 'TRUE',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_LOG_LEVEL: 'DEBUG',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4317',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=dev,service.version=1.2',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      }),
    ).toEqual([]);
  });

  it.each(['yes', '1', 'on', 'disabled'])('stops the service on OTEL_SDK_DISABLED=%s (most likely meant "off")', (value) => {
    expect(checkSdkSettings({ OTEL_SDK_DISABLED: value })).toEqual([
      { variable: 'OTEL_SDK_DISABLED', fatal: true, message: `OTEL_SDK_DISABLED="${value}" is invalid: expected "true" (no SDK) or "false"` },
    ]);
  });

  it.each([
    ['OTEL_TRACES_SAMPLER', 'bogus', 'using parentbased_always_on'],
    ['OTEL_BSP_SCHEDULE_DELAY', '5s', 'using the default'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', '-1', 'using the default'],
    ['OTEL_LOG_LEVEL', 'loud', 'using info'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'jaeger:4317', 'cannot be exported'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'grpc://jaeger:4317', 'cannot be exported'],
    ['OTEL_RESOURCE_ATTRIBUTES', 'team', 'the malformed ones are ignored'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http/json', 'using grpc for traces'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http', 'using grpc for traces'],
  ])('reports %s=%s once, naming it and what is used instead, without stopping', (variable, value, consequence) => {
    const problems = checkSdkSettings({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ variable, fatal: false });
    expect(problems[0].message).toMatch(new RegExp(`^${variable}="${value}" is invalid: .*${consequence}`));
  });

  it('checks the sampler argument only for the ratio samplers', () => {
    expect(checkSdkSettings({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' })).toHaveLength(1);
    expect(checkSdkSettings({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' })).toHaveLength(1);
    expect(checkSdkSettings({ OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: 'half' })).toEqual([]);
  });
});
