module.exports = {
  displayName: 'packages-e2e',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.e2e-spec.ts'],
  // npm installs, tsc and four processes per cell: minutes, not seconds.
  testTimeout: 600_000,
  maxWorkers: 1,
};
