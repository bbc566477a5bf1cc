export { rateLimitedErrors, startTracing, type StartTracingOptions, type TracingHandle } from './start-tracing';
