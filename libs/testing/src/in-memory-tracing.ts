// A secondary entry: it loads the OpenTelemetry SDK, which the rest of the test support does not need.
export * from './lib/in-memory-tracing';
