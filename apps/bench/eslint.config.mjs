import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  {
    // Measures the SDK itself, with no code of ours, as the floor under the traced figures.
    files: ['src/sdk-cost.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
];
