import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  {
    // Test support: the in-memory tracer provider of the unit and integration tests is the SDK's own.
    files: ['src/lib/in-memory-tracing.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
];
