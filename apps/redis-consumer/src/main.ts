import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TUTORIAL_CHANNEL } from '@nest-redis-otel/item-messages';
import { tracedRedisServer } from '@nest-redis-otel/tracing';
import { AppModule } from './app/app.module';
import { loadConfig } from './app/config';

/** Payload fields recorded on consumer spans: the tutorial's subscriber shows them in Jaeger. */
const CAPTURED_PAYLOAD_FIELDS = ['request_id', 'message'];

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.createMicroservice(
    AppModule.register(config),
    tracedRedisServer({
      url: config.redisUrl,
      tracing: { parentMode: config.parentMode, payloadCapture: { fields: CAPTURED_PAYLOAD_FIELDS } },
    }),
  );
  app.enableShutdownHooks();
  await app.listen();
  Logger.log(`redis-consumer subscribed (item.created, item.get, ${TUTORIAL_CHANNEL})`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  Logger.error(error instanceof Error ? error.message : String(error), 'Bootstrap');
  process.exit(1);
});
