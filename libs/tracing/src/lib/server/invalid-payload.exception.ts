import { RpcException } from '@nestjs/microservices';

/** Code of the RPC error a request with an invalid payload is answered with (a caller maps it to a 400). */
export const INVALID_PAYLOAD = 'INVALID_PAYLOAD';

/** What the caller of a refused request receives, and what marks a refused event for the dead letters. */
export class InvalidPayloadError {
  readonly code = INVALID_PAYLOAD;
  constructor(
    readonly message: string,
    readonly errors: readonly string[],
  ) {}
}

/**
 * Thrown (by a pipe, or a handler) when a message's payload breaks the contract. The transports of this workspace
 * dead-letter such an event with kind `invalid-payload` instead of treating it as a failure (a redelivery would
 * fail the same way), and answer such a request with the `InvalidPayloadError`.
 */
export class InvalidPayloadException extends RpcException {
  constructor(message: string, errors: readonly string[] = []) {
    super(new InvalidPayloadError(message, errors));
  }
}

/**
 * Whether a handler failed on an invalid payload: what reaches the transport is the exception itself, or, after
 * Nest's RPC exception filter, the error it carries.
 */
export function invalidPayloadOf(error: unknown): InvalidPayloadError | undefined {
  if (error instanceof InvalidPayloadError) return error;
  if (error instanceof InvalidPayloadException) return error.getError() as InvalidPayloadError;
  return undefined;
}
