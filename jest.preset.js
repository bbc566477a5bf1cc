// Shared by every project's jest.config.ts.
// Nest 12 ships ESM only; Jest on Node 20 loads CommonJS, so @nestjs/* is transformed like our own code.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const swcConfig = JSON.parse(readFileSync(join(__dirname, '.swcrc'), 'utf8'));
delete swcConfig.$schema;

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['@swc/jest', { ...swcConfig, swcrc: false }],
    '^.+\\.mjs$': ['@swc/jest', { ...swcConfig, swcrc: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  moduleNameMapper: {
    '^@nest-redis-otel/config$': '<rootDir>/../../libs/config/src/index.ts',
    '^@nest-redis-otel/item-messages$': '<rootDir>/../../libs/item-messages/src/index.ts',
    '^@nest-redis-otel/streams-transport$': '<rootDir>/../../libs/streams-transport/src/index.ts',
    '^@nest-redis-otel/testing$': '<rootDir>/../../libs/testing/src/index.ts',
    '^@nest-redis-otel/testing/in-memory-tracing$': '<rootDir>/../../libs/testing/src/in-memory-tracing.ts',
    '^@nest-redis-otel/tracing$': '<rootDir>/../../libs/tracing/src/index.ts',
    '^@nest-redis-otel/tracing/internal$': '<rootDir>/../../libs/tracing/src/internal.ts',
    '^@nest-redis-otel/sdk$': '<rootDir>/../../libs/sdk/src/index.ts',
  },
  coverageReporters: ['text-summary', 'html'],
};
