export { rateLimitedErrors, startTracing, type StartTracingOptions, type TracingHandle } from './start-tracing';
export { bootstrapLog, type BootstrapLog, type BootstrapLogLevel } from './bootstrap-log';
