import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Where the docs page is served, under the global prefix: `/api/docs`, and `/api/docs/openapi.json`. */
export const OPENAPI_PATH = 'docs';

/** Serves the OpenAPI description of items-api and a Swagger UI page for it. */
export function setUpOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('items-api')
    .setDescription(
      'HTTP front of the nest-redis-otel demo: each request publishes over Redis to redis-consumer, and both ' +
        'services export one distributed trace. Every response carries `x-request-id` (yours, if sane, or a new UUID).',
    )
    .setVersion('0.1.0')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup(OPENAPI_PATH, app, document, {
    useGlobalPrefix: true,
    jsonDocumentUrl: `${OPENAPI_PATH}/openapi.json`,
    yamlDocumentUrl: `${OPENAPI_PATH}/openapi.yaml`,
  });
}
