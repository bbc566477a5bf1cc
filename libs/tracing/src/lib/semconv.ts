/*
 * Messaging semantic conventions are still "development": their constants live only in
 * `@opentelemetry/semantic-conventions/incubating`, which may rename them in any minor release.
 * As the contrib instrumentations do, the few we use are copied here.
 * https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/
 */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system' as const;
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name' as const;
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type' as const;
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name' as const;
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id' as const;
/** Body and metadata: the whole Redis message, known without serializing the data a second time. */
export const ATTR_MESSAGING_MESSAGE_ENVELOPE_SIZE = 'messaging.message.envelope.size' as const;

export const MESSAGING_OPERATION_TYPE_SEND = 'send' as const;
export const MESSAGING_OPERATION_TYPE_PROCESS = 'process' as const;

/** The conventions list no value for Redis; a custom value is allowed ("redis", as Redis spells itself). */
export const MESSAGING_SYSTEM_REDIS = 'redis' as const;

/** Messaging metrics of the conventions (https://opentelemetry.io/docs/specs/semconv/messaging/messaging-metrics/). */
export const METRIC_MESSAGING_CLIENT_SENT_MESSAGES = 'messaging.client.sent.messages' as const;
export const METRIC_MESSAGING_CLIENT_OPERATION_DURATION = 'messaging.client.operation.duration' as const;
export const METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES = 'messaging.client.consumed.messages' as const;
export const METRIC_MESSAGING_PROCESS_DURATION = 'messaging.process.duration' as const;
/** Ours, for what the conventions have no metric for (namespaced as custom metrics must be). */
export const METRIC_MESSAGES_REFUSED = 'nest_redis_otel.messages.refused' as const;
export const METRIC_MESSAGES_UNDELIVERED = 'nest_redis_otel.messages.undelivered' as const;
