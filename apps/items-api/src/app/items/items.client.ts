/** Injection token of the traced Redis client items-api publishes with. */
export const ITEMS_CLIENT = Symbol('ITEMS_CLIENT');
