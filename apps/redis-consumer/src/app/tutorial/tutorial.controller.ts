import { Controller, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TUTORIAL_CHANNEL, type TutorialMessage } from '@nest-redis-otel/item-messages';

/** The Python tutorial's subscriber: raw JSON on `my-channel`, trace context read from its top level. */
@Controller()
export class TutorialController {
  private readonly logger = new Logger(TutorialController.name);

  @EventPattern(TUTORIAL_CHANNEL)
  onMessage(@Payload() message: TutorialMessage): void {
    this.logger.log({ msg: `${TUTORIAL_CHANNEL}: "${message.message}"`, request_id: message.request_id });
  }
}
