export { TracedClientRedis, NoReplyError, tracedRedisClient } from './lib/client/traced-client-redis';
export type { TracedRedisClientOptions, TracedRedisClientConfig } from './lib/client/traced-client-redis';
export { redactRedisUrl, redisConnectionOptions, redisTopologyOptions } from './lib/client/redis-connection.options';
export { CLUSTER_PUBSUB_MODES, describeTopology, topologyKind } from './lib/client/redis-topology';
export type {
  ClusterPubSubMode,
  RedisClusterTopology,
  RedisNodeAddress,
  RedisSentinelTopology,
  RedisTopology,
} from './lib/client/redis-topology';
export { createRedisConnection } from './lib/client/redis-connection';
export { RedisRecord, type RedisRecordOptions } from './lib/messaging/redis-record';
export { DEADLINE_KEY, DEFAULT_CLOCK_SKEW_ALLOWANCE_MS } from './lib/messaging/message-deadline';
export { TracedServerRedis, tracedRedisServer } from './lib/server/traced-server-redis';
export type { TracedRedisServerOptions, TracedRedisServerConfig } from './lib/server/traced-server-redis';
export type { Readiness, ReadinessCheck } from './lib/consumer/readiness';
export { exceedsJsonDepth, prototypePollutionKey, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGE_DEPTH } from './lib/consumer/message-guard';
export type { RejectionKind } from './lib/consumer/message-guard';
export { INVALID_PAYLOAD, InvalidPayloadError, InvalidPayloadException } from './lib/server/invalid-payload.exception';
export { DEFAULT_DEAD_LETTER_KEY, type DeadLetter, type DeadLetterOptions } from './lib/server/dead-letter-list';
export { RawChannelPublisher, LatePublishError, type RawPublishOptions } from './lib/raw-channel/raw-channel.publisher';
export { TracingModule } from './lib/module/tracing.module';
export { TRACING_MODULE_OPTIONS, type TracingModuleOptions } from './lib/module/tracing.module-definition';
export { MessageTracingInterceptor } from './lib/module/message-tracing.interceptor';
export { flushSpans } from './lib/module/span-flush';
// Set by @nest-redis-otel/sdk from OTEL_TRACES_SAMPLER; a team with its own SDK set-up declares its sampler's behaviour.
export { declareParentBasedSampling } from './lib/messaging/sampled-out-parents';
export { injectTraceCarrier, untrustedCarrierGetter } from './lib/propagation/message-carrier';
export type { TraceCarrier } from './lib/propagation/message-carrier';
export { DEFAULT_REDIS_URL, TRACE_CONTEXT_KEYS, PAYLOAD_ATTRIBUTE_PREFIX } from './lib/constants';
export type { ConsumerParentMode, MessagingTracingOptions, PayloadCaptureOptions } from './lib/types';
export { withTimeout } from './lib/with-timeout';
export { RateLimitedLog } from './lib/logging/rate-limited-log';
export { keepRunningOnUnhandledRejection } from './lib/logging/unhandled-rejections';
export { TracedLogger, TracedLoggerModule, LOG_FORMATS, LOG_LEVELS } from './lib/logging/traced-logger.module';
export type { LogFormat, LogLevel, TracedLoggerOptions } from './lib/logging/traced-logger.module';
export { traceLogFields, type TraceLogFields } from './lib/logging/trace-log-fields';
// The HTTP edge's trust policy, applied by the SDK bootstrap (@nest-redis-otel/sdk) or by a team's own SDK set-up.
export { EdgeContextPropagator, INCOMING_CONTEXT_POLICIES, untrustedParentOf, type IncomingContextPolicy } from './lib/propagation/edge-context';
// Tracing through Nest's public hooks, for clients and servers you already have (no class swapped).
export { instrumentClientProxy } from './lib/hooks/instrument-client-proxy';
export { instrumentServer } from './lib/hooks/instrument-server';
