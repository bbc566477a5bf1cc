import { DEADLINE_KEY } from './message-deadline';

/** Per-message options of `RedisRecord`. */
export interface RedisRecordOptions {
  /**
   * When the caller stops waiting (the end of its timeout). The message carries it; a consumer refuses what it sees
   * later (dead letter of kind `expired`), so that nothing is handled after the caller was told it failed.
   */
  deadline?: Date;
}

/**
 * A message with options, the way Nest's `RmqRecord` and `NatsRecord` carry them:
 * `client.emit(pattern, new RedisRecord(data, { deadline }))`. The handler receives `data` only; the options travel
 * beside it (the packet's `metadata`, the entry's fields), never inside it.
 */
export class RedisRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    readonly options: RedisRecordOptions = {},
  ) {}
}

/** `value` without its record, and what the record adds to the message's metadata. */
export function unwrapRecord(value: unknown): { data: unknown; metadata: Record<string, number> } {
  if (!(value instanceof RedisRecord)) return { data: value, metadata: {} };
  const deadline = value.options.deadline?.getTime();
  return { data: value.data, metadata: deadline === undefined || Number.isNaN(deadline) ? {} : { [DEADLINE_KEY]: deadline } };
}
