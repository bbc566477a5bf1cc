/** Streams are named `<prefix><pattern>`: `stream:item.created`. */
export const DEFAULT_STREAM_PREFIX = 'stream:';
/** XADD … MAXLEN ~ this: Redis trims whole macro-nodes, so a stream holds at least this many entries. */
export const DEFAULT_MAX_STREAM_LENGTH = 100_000;
export const DEFAULT_GROUP = 'consumers';
/** At most this many entries are read per XREADGROUP (fewer when fewer handler slots are free). */
export const DEFAULT_BATCH_SIZE = 32;
/** Handlers running at once on one server: a slow entry holds one slot, the others go on. */
export const DEFAULT_CONCURRENCY = 16;
/** How long a read waits for new entries; also how soon a close is noticed by an idle reader. */
export const DEFAULT_BLOCK_MS = 1000;
/** Entries pending longer than this on any consumer (crashed, or its handler failed) are claimed. */
export const DEFAULT_CLAIM_IDLE_MS = 30_000;
/** Deliveries after which an entry is moved to the dead letters instead of being handled again. */
export const DEFAULT_MAX_DELIVERIES = 5;
export const DEFAULT_DEAD_LETTER_STREAM = 'stream:dead-letters';
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;
/**
 * Reply lists are `reply:<uuid>`. A request naming any other key is refused: whoever can XADD must not make the
 * consumer LPUSH into a key of the application's (`item:<id>`, a queue of another service).
 */
export const REPLY_LIST_PREFIX = 'reply:';
/** A reply list nobody reads any more (its client is gone) expires after this; so does an unused reply ticket. */
export const REPLY_LIST_TTL_MS = 60_000;
/**
 * The key the client sets next to each request (`<reply list>:<request id>`), in the same transaction as its XADD,
 * and the server deletes to push the reply: one reply per ticket, none to a list whose client did not ask.
 */
export function replyTicketKey(replyList: string, requestId: string): string {
  return `${replyList}:${requestId}`;
}
/** The redelivery count on CONSUMER spans, named like the conventions' `messaging.servicebus.message.delivery_count`. */
export const ATTR_DELIVERY_COUNT = 'messaging.redis.message.delivery_count';
/** From the messaging conventions (incubating entry point only, so copied): the entry's size, on both sides. */
export const ATTR_MESSAGING_MESSAGE_ENVELOPE_SIZE = 'messaging.message.envelope.size';
