import type { GetItemRequest, ItemCreatedEvent, TutorialMessage } from '../index';

/** A payload checked against the contract: the typed value (its known fields only), or each thing wrong with it. */
export type PayloadCheck<T> = { valid: true; value: T } | { valid: false; errors: string[] };

/** What items-api puts in an id: a UUID (`randomUUID()`), in any version. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The bounds `POST /api/items` enforces on a name, and the longest request id items-api keeps. */
export const ITEM_NAME_MAX_LENGTH = 200;
export const REQUEST_ID_MAX_LENGTH = 128;

/**
 * `item.created`: `id` a UUID, `name` 1–200 characters, `price` a finite number ≥ 0 or null, `requestId` a string of
 * 1–128 characters. Unknown fields are left out of the value rather than refused (a newer producer may add some).
 */
export function checkItemCreatedEvent(data: unknown): PayloadCheck<ItemCreatedEvent> {
  if (!isPlainObject(data)) return notAnObject(data);
  const errors = [
    ...uuidErrors(data, 'id'),
    ...stringErrors(data, 'name', 1, ITEM_NAME_MAX_LENGTH),
    ...priceErrors(data['price']),
    ...stringErrors(data, 'requestId', 1, REQUEST_ID_MAX_LENGTH),
  ];
  if (errors.length > 0) return { valid: false, errors };
  return {
    valid: true,
    value: { id: data['id'] as string, name: data['name'] as string, price: data['price'] as number | null, requestId: data['requestId'] as string },
  };
}

/** `item.get`: `id` a UUID. */
export function checkGetItemRequest(data: unknown): PayloadCheck<GetItemRequest> {
  if (!isPlainObject(data)) return notAnObject(data);
  const errors = uuidErrors(data, 'id');
  return errors.length > 0 ? { valid: false, errors } : { valid: true, value: { id: data['id'] as string } };
}

/** The tutorial's raw message on `my-channel`: `message` and `request_id` strings (the trace-context keys beside them are ignored). */
export function checkTutorialMessage(data: unknown): PayloadCheck<TutorialMessage> {
  if (!isPlainObject(data)) return notAnObject(data);
  const errors = [...stringErrors(data, 'message', 0, 64 * 1024), ...stringErrors(data, 'request_id', 0, REQUEST_ID_MAX_LENGTH)];
  if (errors.length > 0) return { valid: false, errors };
  return { valid: true, value: { message: data['message'] as string, request_id: data['request_id'] as string } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function notAnObject(data: unknown): { valid: false; errors: string[] } {
  return { valid: false, errors: [`the payload must be a JSON object, got ${describe(data)}`] };
}

function uuidErrors(data: Record<string, unknown>, field: string): string[] {
  const value = data[field];
  if (typeof value !== 'string') return [`${field} must be a UUID string, got ${describe(value)}`];
  return UUID.test(value) ? [] : [`${field} must be a UUID, got "${value.slice(0, 40)}"`];
}

function stringErrors(data: Record<string, unknown>, field: string, min: number, max: number): string[] {
  const value = data[field];
  if (typeof value !== 'string') return [`${field} must be a string, got ${describe(value)}`];
  if (value.length < min || value.length > max) return [`${field} must have ${min} to ${max} characters, got ${value.length}`];
  return [];
}

function priceErrors(price: unknown): string[] {
  if (price === null) return [];
  if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) return [`price must be a number ≥ 0 or null, got ${describe(price)}`];
  return [];
}

/** A value's kind for an error message, never the value itself (it may be large or hostile). */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
