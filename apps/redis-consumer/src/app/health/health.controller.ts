import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type { ServerRedisStreams } from '@nest-redis-otel/streams-transport';
import type { TracedServerRedis } from '@nest-redis-otel/tracing';

/** The microservices whose state the health endpoint reports: pub/sub always, Streams in streams mode. */
export const MESSAGE_SERVERS = Symbol('MESSAGE_SERVERS');
export interface MessageServers {
  pubsub: TracedServerRedis;
  streams?: ServerRedisStreams;
}

@Controller('health')
export class HealthController {
  constructor(@Inject(MESSAGE_SERVERS) private readonly servers: MessageServers) {}

  /**
   * 200 once subscribed to its channels (Redis answering on both connections) and, in streams mode, reading its
   * streams; 503 otherwise: a readiness probe.
   */
  @Get()
  async check(): Promise<{ status: 'ok' }> {
    const subscribed = await this.servers.pubsub.readiness();
    if (!subscribed.ready) throw unavailable(subscribed.reason);
    const reading = await this.servers.streams?.readiness();
    if (reading && !reading.ready) throw unavailable(`streams: ${reading.reason}`);
    return { status: 'ok' };
  }
}

function unavailable(reason: string): HttpException {
  return new HttpException({ status: 'unavailable', reason }, HttpStatus.SERVICE_UNAVAILABLE);
}
