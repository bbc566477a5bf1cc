import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { RedisTopology } from '../client/redis-topology';
import type { MessagingTracingOptions } from '../types';

/** Options of `TracingModule.forRoot` / `forRootAsync`. */
export interface TracingModuleOptions {
  /** Redis that `RawChannelPublisher` publishes to. Default `redis://localhost:6379`. */
  redisUrl?: string;
  /** Instead of `redisUrl`: a Sentinel-managed primary (`{ sentinel }`) or a cluster (`{ cluster }`). */
  redis?: RedisTopology;
  /** Payload capture and parent mode for the spans of `RawChannelPublisher`. */
  tracing?: MessagingTracingOptions;
}

export const {
  ConfigurableModuleClass: ConfigurableTracingModule,
  MODULE_OPTIONS_TOKEN: TRACING_MODULE_OPTIONS,
  OPTIONS_TYPE: TRACING_MODULE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: TRACING_MODULE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<TracingModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
