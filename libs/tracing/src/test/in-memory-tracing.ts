// Shared with the other transports' tests: see libs/testing.
export * from '@nest-redis-otel/testing/in-memory-tracing';
