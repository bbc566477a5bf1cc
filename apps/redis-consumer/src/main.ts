import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { TUTORIAL_CHANNEL } from '@nest-redis-otel/item-messages';
import { redisStreamsServer } from '@nest-redis-otel/streams-transport';
import { tracedRedisServer } from '@nest-redis-otel/tracing';
import { AppModule } from './app/app.module';
import { loadConfig } from './app/config';

/** Payload fields recorded on consumer spans: the tutorial's subscriber shows them in Jaeger. */
const CAPTURED_PAYLOAD_FIELDS = ['request_id', 'message'];

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const microservice = tracedRedisServer({
    url: config.redisUrl,
    tracing: { parentMode: config.parentMode, payloadCapture: { fields: CAPTURED_PAYLOAD_FIELDS } },
    maxMessageBytes: config.maxMessageBytes,
    deadLetters: config.deadLetterMaxEntries > 0 && { key: config.deadLetterKey, maxEntries: config.deadLetterMaxEntries },
    clockSkewAllowanceMs: config.clockSkewAllowanceMs,
  });
  // Streams mode: item messages from Redis Streams; the pub/sub server stays for the tutorial's raw channel.
  const streams =
    config.messagingTransport === 'streams'
      ? redisStreamsServer({
          url: config.redisUrl,
          ...config.streams,
          maxEntryBytes: config.maxMessageBytes,
          clockSkewAllowanceMs: config.clockSkewAllowanceMs,
          tracing: { parentMode: config.parentMode, payloadCapture: { fields: CAPTURED_PAYLOAD_FIELDS } },
        })
      : undefined;
  // A hybrid app: the Redis microservice(s), plus an HTTP port for the health endpoint only. `inheritAppConfig`
  // gives the microservices the app's global enhancers (TracingModule's interceptor).
  const app = await NestFactory.create(AppModule.register(config, microservice.strategy, streams?.strategy), { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  app.connectMicroservice(microservice, { inheritAppConfig: true });
  if (streams) app.connectMicroservice(streams, { inheritAppConfig: true });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.healthPort);
  Logger.log(
    `redis-consumer subscribed (item.created, item.get${streams ? ' on Redis Streams' : ''}, ${TUTORIAL_CHANNEL}); health on ${await app.getUrl()}/health`,
    'Bootstrap',
  );
}

bootstrap().catch((error: unknown) => {
  Logger.error(error instanceof Error ? error.message : String(error), 'Bootstrap');
  process.exit(1);
});
