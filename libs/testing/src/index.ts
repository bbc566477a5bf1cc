export { OtlpTraceReceiver, type ReceivedSpan, type AttributeValue } from './lib/otlp-trace.receiver';
export { startRedisTestServer, findFreePort, stopProcess, type RedisTestServer } from './lib/redis-test.server';
export { findSpan, spanTree } from './lib/span-queries';
