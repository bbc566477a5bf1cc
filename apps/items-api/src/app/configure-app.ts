import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { useSafeJsonBodies } from './json-body';
import { setUpOpenApi } from './openapi';
import { assignRequestId } from './request-id/request-id.middleware';

/** Everything main.ts sets on the app besides listening: shared with the tests that start it in-process. */
export function configureApp(app: NestExpressApplication): void {
  app.use(assignRequestId);
  useSafeJsonBodies(app);
  app.setGlobalPrefix('api');
  setUpOpenApi(app);
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }));
  app.enableShutdownHooks();
}
