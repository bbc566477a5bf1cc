import { EXPORT_PROTOCOLS } from './worker-export/span-record';

/** A setting the bootstrap found wrong: `fatal` ones stop the service, the others are reported and replaced. */
export interface SettingProblem {
  variable: string;
  fatal: boolean;
  message: string;
}

/** The samplers OpenTelemetry JS 2.x builds from OTEL_TRACES_SAMPLER; anything else falls back to its default. */
const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];
/** Those of them that may sample a span whose parent is sampled out (they do not follow the parent's decision). */
const SAMPLERS_IGNORING_PARENT = ['always_on', 'traceidratio'];
const LOG_LEVELS = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'];
const NON_NEGATIVE_INTEGERS = ['OTEL_BSP_SCHEDULE_DELAY', 'OTEL_BSP_EXPORT_TIMEOUT', 'OTEL_BSP_MAX_QUEUE_SIZE', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'];
const PROTOCOLS = ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'];
const ENDPOINTS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'];

/**
 * Checks the `OTEL_*` settings that the SDK reads. The SDK replaces a value it cannot use by its default, silently or
 * with a diagnostic nobody sees (OTEL_TRACES_SAMPLER=bogus samples everything): each such value is reported here, once,
 * naming the variable and what is used instead. OTEL_SDK_DISABLED is the exception: a value that is neither `true` nor
 * `false` (`yes`, `1`) most likely meant "off", and leaving the SDK on would do the opposite, so it stops the service.
 */
export function checkSdkSettings(env: Readonly<Record<string, string | undefined>>): SettingProblem[] {
  const problems: SettingProblem[] = [];
  const value = (name: string) => env[name]?.trim() || undefined;
  const report = (variable: string, message: string, fatal = false) =>
    problems.push({ variable, fatal, message: `${variable}="${env[variable]}" is invalid: ${message}` });

  const disabled = value('OTEL_SDK_DISABLED');
  if (disabled !== undefined && !['true', 'false'].includes(disabled.toLowerCase())) {
    report('OTEL_SDK_DISABLED', 'expected "true" (no SDK) or "false"', true);
  }
  const sampler = value('OTEL_TRACES_SAMPLER');
  if (sampler !== undefined && !SAMPLERS.includes(sampler)) {
    report('OTEL_TRACES_SAMPLER', `expected one of ${SAMPLERS.join(', ')}; using parentbased_always_on`);
  }
  const ratio = value('OTEL_TRACES_SAMPLER_ARG');
  if (ratio !== undefined && sampler?.endsWith('traceidratio') && !(Number(ratio) >= 0 && Number(ratio) <= 1)) {
    report('OTEL_TRACES_SAMPLER_ARG', 'expected a ratio from 0 to 1; using 1');
  }
  for (const name of NON_NEGATIVE_INTEGERS) {
    const raw = value(name);
    if (raw !== undefined && !/^\d+$/.test(raw)) report(name, 'expected a non-negative integer; using the default');
  }
  const logLevel = value('OTEL_LOG_LEVEL');
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel.toLowerCase())) {
    report('OTEL_LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}; using info`);
  }
  for (const name of ENDPOINTS) {
    const raw = value(name);
    if (raw !== undefined && !isHttpUrl(raw)) report(name, 'expected an http:// or https:// URL; spans and metrics cannot be exported');
  }
  // The bootstrap builds the trace exporter for these two (metrics go over gRPC whatever they say).
  for (const name of PROTOCOLS) {
    const raw = value(name);
    if (raw !== undefined && !(EXPORT_PROTOCOLS as readonly string[]).includes(raw)) report(name, 'expected "grpc" or "http/protobuf"; using grpc for traces');
  }
  const attributes = value('OTEL_RESOURCE_ATTRIBUTES');
  if (attributes !== undefined && attributes.split(',').some((pair) => !/^[^=\s]+=/.test(pair.trim()))) {
    report('OTEL_RESOURCE_ATTRIBUTES', 'expected comma-separated key=value pairs; the malformed ones are ignored');
  }
  return problems;
}

function isHttpUrl(raw: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(raw).protocol);
  } catch {
    return false;
  }
}

/**
 * Whether the sampler the SDK builds from OTEL_TRACES_SAMPLER drops every span under a sampled-out parent: the
 * `parentbased_*` ones (their delegates for such a parent are AlwaysOff), always_off, and parentbased_always_on, which
 * the SDK uses for an unset or unknown value (the unknown one is reported by checkSdkSettings).
 */
export function dropsUnderSampledOutParent(sampler: string | undefined): boolean {
  return !SAMPLERS_IGNORING_PARENT.includes(sampler?.trim() ?? '');
}
