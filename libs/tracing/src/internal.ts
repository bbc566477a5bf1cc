/**
 * `@nest-redis-otel/tracing/internal`: the consumer lifecycle shared by this package's transports (the pub/sub
 * server here, `@nest-redis-otel/streams-transport`). Not public API: it changes with the transports, without notice.
 */
export { DEFAULT_DRAIN_TIMEOUT_MS, RunningHandlers } from './lib/consumer/running-handlers';
export type { Readiness, ReadinessCheck } from './lib/consumer/readiness';
export { inspectJson, type JsonPart, type Rejection, type RejectionKind } from './lib/consumer/message-guard';
export { DeadLetters, type DeadLetterStore, type DeadLettersOptions, type Refusal } from './lib/consumer/dead-letters';
export { type ConsumerSpan, startConsumerSpan } from './lib/consumer/consumer-span';
// The spans, metrics and checks of messages, for the transports' clients and servers.
export { MessageSpans, endMessageSpan, finishMessageSpan, recordMessageFailure, describeError, type MessageFacts } from './lib/messaging/message-spans';
export { checkDeadline, type DeadlineCheck } from './lib/messaging/message-deadline';
export { unwrapRecord } from './lib/messaging/redis-record';
export { invalidPayloadOf } from './lib/server/invalid-payload.exception';
// Topologies, for the transports' own connections.
export { splitTopology } from './lib/client/redis-topology';
export { clusterOf } from './lib/client/cluster-client';
export { redisNodeAttributes } from './lib/messaging/redis-node';
