import type { ReadPacket, Serializer } from '@nestjs/microservices';
import { unwrapRecord } from '../messaging/redis-record';

/**
 * Unwraps a `RedisRecord` the way Nest's `RmqRecordSerializer` unwraps an `RmqRecord`: the packet's `data` becomes
 * the record's data, its options join the packet's `metadata` (next to the trace context the dispatch hook put
 * there); then the wrapped serializer runs.
 */
export class RedisRecordSerializer implements Serializer<ReadPacket & { metadata?: unknown }> {
  constructor(private readonly next: Serializer) {}

  serialize(packet: ReadPacket & { metadata?: unknown }, options?: Record<string, unknown>): unknown {
    const { data, metadata } = unwrapRecord(packet.data);
    if (data === packet.data) return this.next.serialize(packet, options);
    const existing = typeof packet.metadata === 'object' && packet.metadata !== null ? packet.metadata : {};
    return this.next.serialize({ ...packet, data, metadata: { ...existing, ...metadata } }, options);
  }
}
