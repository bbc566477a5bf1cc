import { type DynamicModule, Module } from '@nestjs/common';
import type { ServerRedisStreams } from '@nest-redis-otel/streams-transport';
import { createRedisConnection, TracedLoggerModule, type TracedServerRedis, TracingModule } from '@nest-redis-otel/tracing';
import { APP_CONFIG, type AppConfig } from './config';
import { HealthController, MESSAGE_SERVERS, type MessageServers } from './health/health.controller';
import { ItemsController } from './items/items.controller';
import { ITEMS_REDIS, ItemsRepository } from './items/items.repository';
import { TraceContextCallbackController } from './tracecontext/tracecontext-callback.controller';
import { TutorialController } from './tutorial/tutorial.controller';

@Module({})
export class AppModule {
  /** The app around the Redis microservice(s) it is connected to (for the health endpoint). */
  static register(config: AppConfig, server: TracedServerRedis, streams?: ServerRedisStreams): DynamicModule {
    const servers: MessageServers = { pubsub: server, streams };
    return {
      module: AppModule,
      imports: [
        TracedLoggerModule.forRoot({
          service: 'redis-consumer',
          ...config.logging,
          ignoreRequest: (request) => request.url?.startsWith('/health') ?? false,
        }),
        TracingModule.forRoot({ redis: config.redis }),
      ],
      controllers: [
        ItemsController,
        TutorialController,
        HealthController,
        ...(config.traceContextValidation ? [TraceContextCallbackController] : []),
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: MESSAGE_SERVERS, useValue: servers },
        {
          provide: ITEMS_REDIS,
          // Connected at start-up, outside any span: the first message's trace shows its own commands only.
          useFactory: async () => {
            const redis = createRedisConnection(config.redis, ItemsRepository.name, { lazyConnect: true });
            await redis.connect().catch(() => undefined); // retried by ioredis; the handler's command waits for it
            return redis;
          },
        },
        ItemsRepository,
      ],
    };
  }
}
