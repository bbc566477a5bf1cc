import { Controller, Get, HttpCode, HttpStatus, Logger, ServiceUnavailableException } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { TUTORIAL_CHANNEL, type TutorialMessage } from '@nest-redis-otel/item-messages';
import { RateLimitedLog, RawChannelPublisher } from '@nest-redis-otel/tracing';
import { RequestId } from '../request-id/request-id.middleware';

/** The Python tutorial's publisher: raw JSON with the W3C keys at the top level, on `my-channel`. */
@ApiTags('tutorial')
@Controller('pub')
export class PubController {
  private readonly logger = new Logger(PubController.name);
  private readonly failures = new RateLimitedLog((line) => this.logger.warn(line));

  constructor(private readonly publisher: RawChannelPublisher) {}

  @Get()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: `Publish the tutorial's raw JSON on "${TUTORIAL_CHANNEL}", trace context at its top level`,
    description: 'For subscribers in other runtimes that call extract(carrier=payload), as in the Python tutorial.',
  })
  @ApiAcceptedResponse({ description: 'Published: `{ "published": true, "requestId": … }`' })
  @ApiServiceUnavailableResponse({ description: 'Redis is unavailable; nothing was published' })
  async publish(@RequestId() requestId: string): Promise<{ published: true; requestId: string }> {
    const message: TutorialMessage = { message: 'this is my message', request_id: requestId };
    try {
      await this.publisher.publish(TUTORIAL_CHANNEL, { ...message });
    } catch (error) {
      this.failures.write(TUTORIAL_CHANNEL, `${TUTORIAL_CHANNEL} not published: ${error instanceof Error ? error.message : String(error)}`);
      throw new ServiceUnavailableException('Redis is unavailable: the message was not published, retry later');
    }
    return { published: true, requestId };
  }
}
