import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { TUTORIAL_CHANNEL } from '@nest-redis-otel/item-messages';
import { keepRunningOnUnhandledRejection } from '@nest-redis-otel/tracing';
import { createConsumerApp } from './app/consumer-app';
import { loadConfig } from './app/config';

async function bootstrap(): Promise<void> {
  // Logged (through pino once the app is up) and survived rather than fatal: see docs/decisions.md.
  keepRunningOnUnhandledRejection((line) => Logger.error(line, 'Process'));
  const config = loadConfig();
  const { app, streams } = await createConsumerApp(config);
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
