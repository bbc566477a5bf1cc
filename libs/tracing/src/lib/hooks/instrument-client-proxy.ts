import type { ClientProxy, ReadPacket } from '@nestjs/microservices';
import { context, propagation, trace } from '@opentelemetry/api';
import { MessageSpans } from '../messaging/message-spans';
import type { TraceCarrier } from '../propagation/message-carrier';
import type { MessagingTracingOptions } from '../types';

type DispatchHook = (packet: ReadPacket) => void;

const instrumented = new WeakSet<ClientProxy>();

/**
 * Adds tracing to a client you already have (Nest's stock `ClientRedis`, or any `ClientProxy` whose transport carries
 * `packet.metadata`), through Nest's public dispatch hook: every `send`/`emit` gets a PRODUCER span `send <pattern>`,
 * child of the caller's span, and its context travels in the packet's `metadata`. The span marks the moment the
 * packet was made: a hook sees neither the publish nor the reply, so it has no duration and no error status. For a
 * span that lasts until Redis took the event (or the reply came), errors, the envelope size and the count of events
 * nobody received, use `TracedClientRedis` instead.
 *
 * A dispatch hook the app set before or sets after this call still runs, before ours (so ours sees its metadata).
 */
export function instrumentClientProxy(client: ClientProxy, options: MessagingTracingOptions = {}): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  const spans = new MessageSpans(options);
  const inject: DispatchHook = (packet) => {
    const span = spans.startProducer(context.active(), { destination: String(packet.pattern), data: packet.data });
    const carrier: TraceCarrier = {};
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    const withMetadata = packet as ReadPacket & { metadata?: Record<string, unknown> };
    withMetadata.metadata = { ...withMetadata.metadata, ...carrier };
    span.end();
  };
  // No public getter for a hook set earlier: read Nest's protected field (checked against @nestjs/microservices 12.1.1).
  const earlier = (client as unknown as { onDispatchHook?: DispatchHook }).onDispatchHook;
  const setHook = client.setOnDispatchHook.bind(client);
  const chain = (appHook: DispatchHook | undefined): DispatchHook => (packet) => {
    appHook?.(packet);
    inject(packet);
  };
  setHook(chain(earlier));
  client.setOnDispatchHook = (hook) => setHook(chain(hook));
}
