import { createHash } from 'node:crypto';
import { BadRequestException } from '@nestjs/common';

/** The header of draft-ietf-httpapi-idempotency-key-header: the same key on a retry stores one item. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** A fixed UUID namespace of this service's item ids (RFC 9562 name-based ids, version 5). */
const ITEM_ID_NAMESPACE = Buffer.from('5c1a7d3e9b4f4e2a8d6c0f1e2b3a4c5d', 'hex');

const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The item id of a request: the same for every request with the same `Idempotency-Key` (a name-based UUID of the
 * key, so that items-api keeps no state and a retry overwrites the same `item:<id>`), a random one without a key.
 */
export function itemIdFor(idempotencyKey: string | undefined, randomId: () => string): string {
  if (idempotencyKey === undefined) return randomId();
  if (!VALID_KEY.test(idempotencyKey)) {
    throw new BadRequestException('Idempotency-Key must be 1 to 255 visible ASCII characters: send a new UUID per item, the same one on its retries');
  }
  const bytes = createHash('sha1').update(ITEM_ID_NAMESPACE).update(idempotencyKey, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
