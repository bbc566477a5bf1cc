import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { redisStreamsServer, type ServerRedisStreams } from '@nest-redis-otel/streams-transport';
import { type TracedServerRedis, tracedRedisServer } from '@nest-redis-otel/tracing';
import { TUTORIAL_CHANNEL } from '@nest-redis-otel/item-messages';
import { AppModule } from './app.module';
import type { AppConfig } from './config';

/** Payload fields recorded on consumer spans: the tutorial's subscriber shows them in Jaeger. */
const CAPTURED_PAYLOAD_FIELDS = ['request_id', 'message'];

/** redis-consumer as `main.ts` runs it, not started yet: the app, and the message servers it is connected to. */
export interface ConsumerApp {
  app: INestApplication;
  pubsub: TracedServerRedis;
  streams?: ServerRedisStreams;
}

/**
 * Builds the hybrid app: the Redis microservice(s), plus an HTTP port for the health endpoint only. Start it with
 * `app.startAllMicroservices()` then `app.listen(config.healthPort)`.
 */
export async function createConsumerApp(config: AppConfig): Promise<ConsumerApp> {
  const tracing = { parentMode: config.parentMode, payloadCapture: { fields: CAPTURED_PAYLOAD_FIELDS } };
  // On a cluster with sharded pub/sub, the tutorial's channel stays on plain pub/sub: its publishers know no other.
  const redis = 'cluster' in config.redis ? { cluster: { ...config.redis.cluster, globalChannels: [TUTORIAL_CHANNEL] } } : config.redis;
  const microservice = tracedRedisServer({
    ...redis,
    tracing,
    maxMessageBytes: config.maxMessageBytes,
    maxMessageDepth: config.maxMessageDepth,
    clockSkewAllowanceMs: config.clockSkewAllowanceMs,
    deadLetters: config.deadLetterMaxEntries > 0 && { key: config.deadLetterKey, maxEntries: config.deadLetterMaxEntries },
    // Streams mode: item messages from Redis Streams only (a PUBLISH on their channels must not bypass the group's
    // at-least-once delivery); the pub/sub server keeps the tutorial's raw channel.
    ...(config.messagingTransport === 'streams' && { patterns: [TUTORIAL_CHANNEL] }),
  });
  const streams =
    config.messagingTransport === 'streams'
      ? redisStreamsServer({
          ...config.redis,
          ...config.streams,
          maxEntryBytes: config.maxMessageBytes,
          maxEntryDepth: config.maxMessageDepth,
          clockSkewAllowanceMs: config.clockSkewAllowanceMs,
          tracing,
        })
      : undefined;
  // `inheritAppConfig` gives the microservices the app's global enhancers (TracingModule's interceptor).
  const app = await NestFactory.create(AppModule.register(config, microservice.strategy, streams?.strategy), { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  app.connectMicroservice(microservice, { inheritAppConfig: true });
  if (streams) app.connectMicroservice(streams, { inheritAppConfig: true });
  app.enableShutdownHooks();
  return { app, pubsub: microservice.strategy, streams: streams?.strategy };
}
