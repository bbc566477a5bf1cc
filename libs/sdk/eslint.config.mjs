import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  {
    // The SDK bootstrap is the one package that starts the OpenTelemetry SDK.
    files: ['**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
];
