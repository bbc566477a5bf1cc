/** The messages items-api and redis-consumer exchange: the contract between the two services. */

/** Event: an item was accepted by items-api. Published with `emit`. */
export const ITEM_CREATED = 'item.created';
/** Request: the stored item with this id. Sent with `send`; answered with an `Item` or an `ItemNotFoundError`. */
export const ITEM_GET = 'item.get';
/** The plain Redis channel of the Python tutorial: raw JSON, trace context at the top level. */
export const TUTORIAL_CHANNEL = 'my-channel';

export interface Item {
  id: string;
  name: string;
  price: number | null;
  requestId: string;
}

export type ItemCreatedEvent = Item;

export interface GetItemRequest {
  id: string;
}

/** Error code of the RPC error answered to `item.get` for an unknown id. */
export const ITEM_NOT_FOUND = 'ITEM_NOT_FOUND';

export interface ItemNotFoundError {
  code: typeof ITEM_NOT_FOUND;
  message: string;
}

/** What `GET /api/pub` publishes on `my-channel`, before the trace context is added at the top level. */
export interface TutorialMessage {
  message: string;
  request_id: string;
}

/**
 * Request (W3C trace-context test suite, only with TRACECONTEXT_VALIDATION=1): POST `arguments` as JSON to `url`,
 * with the trace context of the message. Answered with a `TraceContextCallbackResult`.
 */
export const TRACECONTEXT_CALLBACK = 'tracecontext.callback';

export interface TraceContextCallback {
  url: string;
  arguments: unknown;
}

export interface TraceContextCallbackResult {
  url: string;
  status: number;
}

export { checkGetItemRequest, checkItemCreatedEvent, checkTutorialMessage, ITEM_NAME_MAX_LENGTH, REQUEST_ID_MAX_LENGTH } from './lib/payload-checks';
export type { PayloadCheck } from './lib/payload-checks';
