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
export const ATTR_MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size' as const;

export const MESSAGING_OPERATION_TYPE_SEND = 'send' as const;
export const MESSAGING_OPERATION_TYPE_PROCESS = 'process' as const;

/** The conventions list no value for Redis; a custom value is allowed ("redis", as Redis spells itself). */
export const MESSAGING_SYSTEM_REDIS = 'redis' as const;
