import { Controller, Get, HttpCode, HttpStatus, Inject, Logger, ServiceUnavailableException } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { TUTORIAL_CHANNEL, type TutorialMessage } from '@nest-redis-otel/item-messages';
import { RateLimitedLog, RawChannelPublisher, withTimeout } from '@nest-redis-otel/tracing';
import { APP_CONFIG, type AppConfig } from '../config';
import { RequestId } from '../request-id/request-id.middleware';

/** The Python tutorial's publisher: raw JSON with the W3C keys at the top level, on `my-channel`. */
@ApiTags('tutorial')
@Controller('pub')
export class PubController {
  private readonly logger = new Logger(PubController.name);
  private readonly failures = new RateLimitedLog((line) => this.logger.warn(line));

  constructor(
    private readonly publisher: RawChannelPublisher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: `Publish the tutorial's raw JSON on "${TUTORIAL_CHANNEL}", trace context at its top level`,
    description:
      'For subscribers in other runtimes that call extract(carrier=payload), as in the Python tutorial. Redis ' +
      'publishes only before this request gives up (PUBLISH_TIMEOUT_MS): a publish that waited longer is not run.',
  })
  @ApiAcceptedResponse({ description: 'Published: `{ "published": true, "requestId": … }`' })
  @ApiServiceUnavailableResponse({
    description:
      'Redis did not publish within PUBLISH_TIMEOUT_MS: nothing will be published after this answer (it may have ' +
      'been before it, if Redis acknowledged too late)',
  })
  async publish(@RequestId() requestId: string): Promise<{ published: true; requestId: string }> {
    const message: TutorialMessage = { message: 'this is my message', request_id: requestId };
    const deadline = new Date(Date.now() + this.config.publishTimeoutMs);
    const options = { deadline, clockSkewAllowanceMs: this.config.clockSkewAllowanceMs };
    try {
      await withTimeout(this.publisher.publish(TUTORIAL_CHANNEL, { ...message }, options), this.config.publishTimeoutMs);
    } catch (error) {
      this.failures.write(TUTORIAL_CHANNEL, `${TUTORIAL_CHANNEL} not published: ${error instanceof Error ? error.message : String(error)}`);
      throw new ServiceUnavailableException('Redis did not publish the message in time: it will not be published after this answer; retry later');
    }
    return { published: true, requestId };
  }
}
