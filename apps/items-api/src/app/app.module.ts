import {
  type DynamicModule,
  Inject,
  Logger,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { type ClientProxy, ClientsModule } from '@nestjs/microservices';
import { redisStreamsClient } from '@nest-redis-otel/streams-transport';
import { TracedLoggerModule, TracingModule, tracedRedisClient } from '@nest-redis-otel/tracing';
import { APP_CONFIG, type AppConfig } from './config';
import { HealthController } from './health/health.controller';
import { ITEMS_CLIENT } from './items/items.client';
import { ItemsController } from './items/items.controller';
import { PubController } from './pub/pub.controller';
import { requestIdOf } from './request-id/request-id.middleware';
import { ConnectionDrainingMiddleware, ShutdownState } from './shutdown/connection-draining';
import { TraceContextValidationController } from './tracecontext/tracecontext-validation.controller';

@Module({})
export class AppModule implements NestModule, OnApplicationBootstrap {
  constructor(@Inject(ITEMS_CLIENT) private readonly client: ClientProxy) {}

  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TracedLoggerModule.forRoot({
          service: 'items-api',
          ...config.logging,
          requestId: requestIdOf,
          ignoreRequest: (request) => request.url?.startsWith('/api/health') ?? false,
        }),
        TracingModule.forRoot({ redis: config.redis }),
        ClientsModule.register([
          {
            name: ITEMS_CLIENT,
            ...(config.messagingTransport === 'streams'
              ? redisStreamsClient({
                  ...config.redis,
                  maxStreamLength: config.streamsMaxLength,
                  partitions: config.streamsPartitions,
                  waitReplicas: config.streamsWaitReplicas,
                  waitTimeoutMs: config.streamsWaitTimeoutMs,
                })
              : tracedRedisClient(config.redis)),
          },
        ]),
      ],
      controllers: [
        ItemsController,
        PubController,
        HealthController,
        ...(config.traceContextValidation ? [TraceContextValidationController] : []),
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }, ShutdownState],
    };
  }

  /** Connects at start-up, outside any request, so that no request's trace carries the connection's commands. */
  async onApplicationBootstrap(): Promise<void> {
    await this.client.connect().catch((error: unknown) => {
      new Logger(AppModule.name).warn(`Redis not reachable yet, will retry on use: ${String(error)}`);
    });
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ConnectionDrainingMiddleware).forRoutes('*path');
  }
}
