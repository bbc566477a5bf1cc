import { ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';

/**
 * The context of the transport's own Redis commands (publishing a message this library already describes with a
 * PRODUCER span, a reply, the reply channel's SUBSCRIBE): no parent, and tracing suppressed, so that the ioredis
 * instrumentation makes no span whatever its `requireParentSpan`. One span fewer per message on each side.
 */
export const UNTRACED_CONTEXT = suppressTracing(ROOT_CONTEXT);
