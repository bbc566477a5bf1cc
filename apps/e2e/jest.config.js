module.exports = {
  displayName: 'e2e',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.e2e-spec.ts'],
  testTimeout: 60_000,
  // The suites start processes on free ports; one at a time keeps a 2-core machine responsive.
  maxWorkers: 1,
};
