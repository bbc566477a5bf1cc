import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type { TracedServerRedis } from '@nest-redis-otel/tracing';

/** The Redis microservice whose subscriptions the health endpoint reports. */
export const MESSAGE_SERVER = Symbol('MESSAGE_SERVER');

@Controller('health')
export class HealthController {
  constructor(@Inject(MESSAGE_SERVER) private readonly server: TracedServerRedis) {}

  /** 200 once subscribed to its channels (and Redis answers on both connections), 503 otherwise: a readiness probe. */
  @Get()
  async check(): Promise<{ status: 'ok' }> {
    const result = await this.server.checkSubscribed();
    if (result.subscribed) return { status: 'ok' };
    throw new HttpException({ status: 'unavailable', reason: result.reason }, HttpStatus.SERVICE_UNAVAILABLE);
  }
}
