import type { Server } from '@nestjs/microservices';
import { context as otelContext } from '@opentelemetry/api';
import { type ConsumerSpan, startConsumerSpan } from '../consumer/consumer-span';
import { MessageSpans } from '../messaging/message-spans';
import type { MessagingTracingOptions } from '../types';

type TransportId = Parameters<Server['setTransportId']>[0];
type StartHook = (transportId: TransportId, context: unknown, done: () => Promise<unknown>) => void;
type EndHook = (transportId: TransportId, context: unknown) => void;

/** What a transport's context offers: Nest 12.1's `RedisContext` and `TcpContext` have `getMetadata()`. */
interface MessageContext {
  getMetadata?(): unknown;
  getChannel?(): string;
  getPattern?(): string;
}

const instrumented = new WeakSet<Server>();

/**
 * Adds tracing to a server you already have (Nest's stock `ServerRedis`, or another `Server` whose context has
 * `getMetadata()`), through Nest's public processing hooks: every `@EventPattern`/`@MessagePattern` handler runs in
 * a CONSUMER span `process <channel>` whose parent (or link, `parentMode: 'link'`) is the producer's span, read from
 * the packet's `metadata`. The hooks do not see the handler's exception: register `MessageTracingInterceptor`
 * (`TracingModule` does) for the ERROR status. For dead letters of malformed messages, the envelope size and the
 * tutorial's top-level layout on raw channels, use `TracedServerRedis` instead.
 *
 * Processing hooks the app set before or sets after this call still run, inside ours.
 */
export function instrumentServer(server: Server, options: MessagingTracingOptions = {}): void {
  if (instrumented.has(server)) return;
  instrumented.add(server);
  const spans = new MessageSpans(options);
  const running = new WeakMap<object, ConsumerSpan>();
  // No public getters for hooks set earlier: read Nest's protected fields (checked against @nestjs/microservices 12.1.1).
  const fields = server as unknown as { onProcessingStartHook?: StartHook; onProcessingEndHook?: EndHook };
  let appStart = fields.onProcessingStartHook;
  let appEnd = fields.onProcessingEndHook;
  const setStart = server.setOnProcessingStartHook.bind(server);
  const setEnd = server.setOnProcessingEndHook.bind(server);

  setStart((transportId, context, done) => {
    const messageContext = (context ?? {}) as MessageContext;
    const destination = messageContext.getChannel?.() ?? messageContext.getPattern?.() ?? 'unknown';
    const span = startConsumerSpan(spans, messageContext.getMetadata?.(), { destination });
    if (typeof context === 'object' && context !== null) running.set(context, span);
    return otelContext.with(span.context, () => (appStart ? appStart(transportId, context, done) : done()));
  });
  setEnd((transportId, context) => {
    try {
      appEnd?.(transportId, context);
    } finally {
      const span = typeof context === 'object' && context !== null ? running.get(context) : undefined;
      if (span) {
        running.delete(context as object);
        span.end();
      }
    }
  });
  server.setOnProcessingStartHook = (hook) => {
    appStart = hook;
  };
  server.setOnProcessingEndHook = (hook) => {
    appEnd = hook;
  };
}
