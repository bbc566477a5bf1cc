export { OtlpTraceReceiver, type ReceivedDataPoint, type ReceivedSpan, type AttributeValue } from './lib/otlp-trace.receiver';
export {
  startRedisTestServer,
  startRedisServerAt,
  findFreePort,
  stopProcess,
  type RedisTestServer,
} from './lib/redis-test.server';
export { startRedisCluster, type LocalRedisCluster, type RedisClusterOptions } from './lib/redis-cluster';
export { startRedisSentinel, type LocalRedisSentinel, type RedisSentinelOptions } from './lib/redis-sentinel';
export { pollUntil, stopAllRedisTopologies, type HostPort } from './lib/redis-topology.support';
export { serveBuiltApp, serveProcess, WORKSPACE_ROOT, type ServedApp } from './lib/served-app';
export { serveStack, type ServedStack } from './lib/served-stack';
export { findSpan, rootOf, spanTree } from './lib/span-queries';
export { waitUntil } from './lib/wait-until';
