import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { checkSdkSettings, dropsUnderSampledOutParent } from './sdk-settings';

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

describe('dropsUnderSampledOutParent (whether messaging spans may skip the SDK under a sampled-out parent)', () => {
  const saved = { sampler: process.env['OTEL_TRACES_SAMPLER'], ratio: process.env['OTEL_TRACES_SAMPLER_ARG'] };
  afterEach(() => {
    for (const [name, value] of [['OTEL_TRACES_SAMPLER', saved.sampler], ['OTEL_TRACES_SAMPLER_ARG', saved.ratio]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  // Against the SDK itself: the sampler it builds from the variable, asked about a span under a sampled-out remote parent.
  it.each([undefined, 'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio', 'bogus'])(
    'says what the SDK does with OTEL_TRACES_SAMPLER=%s',
    (sampler) => {
      if (sampler === undefined) delete process.env['OTEL_TRACES_SAMPLER'];
      else process.env['OTEL_TRACES_SAMPLER'] = sampler;
      process.env['OTEL_TRACES_SAMPLER_ARG'] = '1';
      const parent = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceFlags: TraceFlags.NONE,
        isRemote: true,
      });
      const span = new BasicTracerProvider().getTracer('spec').startSpan('child', {}, parent);

      expect(dropsUnderSampledOutParent(sampler)).toBe(!span.isRecording());
      span.end();
    },
  );
});
