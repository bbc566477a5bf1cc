import { Controller, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { checkTutorialMessage, TUTORIAL_CHANNEL, type TutorialMessage } from '@nest-redis-otel/item-messages';
import { PayloadContractPipe } from '../messages/payload-contract.pipe';

/** The Python tutorial's subscriber: raw JSON on `my-channel`, trace context read from its top level. */
@Controller()
export class TutorialController {
  private readonly logger = new Logger(TutorialController.name);

  @EventPattern(TUTORIAL_CHANNEL)
  onMessage(@Payload(new PayloadContractPipe(TUTORIAL_CHANNEL, checkTutorialMessage)) message: TutorialMessage): void {
    this.logger.log({ msg: `${TUTORIAL_CHANNEL}: "${message.message}"`, request_id: message.request_id });
  }
}
