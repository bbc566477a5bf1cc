import type { ConsumerDeserializer, IncomingEvent, IncomingRequest } from '@nestjs/microservices';
import { isRecord, traceCarrierFromTopLevel } from '../propagation/message-carrier';

type IncomingPacket = (IncomingRequest | IncomingEvent) & { metadata?: unknown };

/**
 * Wraps the server's deserializer so that every packet reaches the processing hooks with a `metadata` object that
 * holds its trace context: the Nest packet's own `metadata`, or, for a message that is not a Nest packet (raw JSON
 * from another runtime), the W3C keys found at the top level of the JSON. `data` is passed through untouched.
 */
export class TraceContextDeserializer implements ConsumerDeserializer {
  constructor(private readonly inner: ConsumerDeserializer) {}

  async deserialize(value: unknown, options?: Record<string, unknown>): Promise<IncomingPacket> {
    const packet = (await this.inner.deserialize(value, options)) as IncomingPacket;
    if (!isRecord(packet)) return packet;
    if (!isNestPacket(value)) {
      packet.metadata = traceCarrierFromTopLevel(value);
    } else if (!isRecord(packet.metadata)) {
      packet.metadata = {};
    }
    return packet;
  }
}

/** The test Nest's own `IncomingRequestDeserializer` applies: a Nest packet has a `pattern` or a `data` key. */
function isNestPacket(value: unknown): boolean {
  return isRecord(value) && (value['pattern'] !== undefined || value['data'] !== undefined);
}
