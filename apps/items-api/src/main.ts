import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { describeTopology, keepRunningOnUnhandledRejection } from '@nest-redis-otel/tracing';
import { AppModule } from './app/app.module';
import { loadConfig } from './app/config';
import { configureApp } from './app/configure-app';

async function bootstrap(): Promise<void> {
  // Logged (through pino once the app is up) and survived rather than fatal: see docs/decisions.md.
  keepRunningOnUnhandledRejection((line) => Logger.error(line, 'Process'));
  const config = loadConfig();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  configureApp(app);
  await app.listen(config.port);
  Logger.log(`items-api listening on ${await app.getUrl()}/api (Redis: ${describeTopology(config.redis, (url) => new URL(url).host)})`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  Logger.error(error instanceof Error ? error.message : String(error), 'Bootstrap');
  process.exit(1);
});
