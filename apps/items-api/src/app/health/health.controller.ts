import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { withTimeout } from '@nest-redis-otel/tracing';
import { ITEMS_CLIENT } from '../items/items.client';

const HEALTH_TIMEOUT_MS = 1000;
type Pingable = { ping(): Promise<string> };

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(@Inject(ITEMS_CLIENT) private readonly client: ClientProxy) {}

  /** 200 when Redis answers a PING on the messaging connection within a second, 503 otherwise. */
  @Get()
  @ApiOperation({ summary: 'Readiness: Redis answers a PING on the messaging connection within a second' })
  @ApiOkResponse({ description: '`{ "status": "ok" }`' })
  @ApiServiceUnavailableResponse({ description: '`{ "status": "unavailable", "reason": … }`' })
  async check(): Promise<{ status: 'ok' }> {
    try {
      await withTimeout(
        (async () => {
          await this.client.connect();
          // Pub/sub: [publisher, subscriber]; Streams: the commands connection.
          const connection = this.client.unwrap<Pingable | Pingable[]>();
          await (Array.isArray(connection) ? connection[0] : connection).ping();
        })(),
        HEALTH_TIMEOUT_MS,
      );
      return { status: 'ok' };
    } catch (error) {
      throw new HttpException(
        { status: 'unavailable', reason: `Redis did not answer: ${error instanceof Error ? error.message : String(error)}` },
        HttpStatus.SERVICE_UNAVAILABLE,
      );
    }
  }
}
