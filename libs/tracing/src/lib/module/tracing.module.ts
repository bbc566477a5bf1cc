import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { createRedisConnection } from '../client/redis-connection';
import { DEFAULT_REDIS_URL } from '../constants';
import { RawChannelPublisher } from '../raw-channel/raw-channel.publisher';
import { MessageTracingInterceptor } from './message-tracing.interceptor';
import { flushSpans } from './span-flush';
import { ConfigurableTracingModule, TRACING_MODULE_OPTIONS, type TracingModuleOptions } from './tracing.module-definition';

const RAW_CHANNEL_CONNECTION = Symbol('RAW_CHANNEL_CONNECTION');

/**
 * Tracing for a Nest app whose messages go over Redis: records handler exceptions on consumer spans, provides
 * `RawChannelPublisher`, and flushes buffered spans when the app shuts down.
 * `TracingModule.forRoot({ redisUrl })` or `forRootAsync({ useFactory, inject })`.
 */
@Module({
  providers: [
    { provide: APP_INTERCEPTOR, useClass: MessageTracingInterceptor },
    {
      provide: RAW_CHANNEL_CONNECTION,
      inject: [TRACING_MODULE_OPTIONS],
      useFactory: (options: TracingModuleOptions) =>
        createRedisConnection(options.redis ?? options.redisUrl ?? DEFAULT_REDIS_URL, RawChannelPublisher.name, { lazyConnect: true }),
    },
    {
      provide: RawChannelPublisher,
      inject: [RAW_CHANNEL_CONNECTION, TRACING_MODULE_OPTIONS],
      useFactory: (redis: Redis, options: TracingModuleOptions) => new RawChannelPublisher(redis, options.tracing),
    },
  ],
  exports: [RawChannelPublisher],
})
export class TracingModule extends ConfigurableTracingModule implements OnApplicationShutdown {
  constructor(@Inject(RAW_CHANNEL_CONNECTION) private readonly redis: Redis) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
    await flushSpans();
  }
}
