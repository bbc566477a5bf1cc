export { startTracing, type StartTracingOptions, type TracingHandle } from './start-tracing';
