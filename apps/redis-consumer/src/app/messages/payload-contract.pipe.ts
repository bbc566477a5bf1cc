import type { PipeTransform } from '@nestjs/common';
import type { PayloadCheck } from '@nest-redis-otel/item-messages';
import { InvalidPayloadException } from '@nest-redis-otel/tracing';

/**
 * Checks a message's payload against the contract before the handler sees it, on whichever transport it came
 * (pub/sub or Streams): the handler gets the checked value; a payload that breaks the contract is refused with an
 * `InvalidPayloadException`, which the transports turn into a dead letter (events) or an error answer (requests).
 */
export class PayloadContractPipe<T> implements PipeTransform<unknown, T> {
  constructor(
    private readonly pattern: string,
    private readonly check: (data: unknown) => PayloadCheck<T>,
  ) {}

  transform(data: unknown): T {
    const checked = this.check(data);
    if (checked.valid) return checked.value;
    throw new InvalidPayloadException(`invalid ${this.pattern} payload: ${checked.errors.join('; ')}`, checked.errors);
  }
}
