// The images' start commands run on the host from the pruned build output (`nx e2e docker`, after the apps' prune).
const staticChecks = require('./jest.config.js');

module.exports = {
  ...staticChecks,
  displayName: 'docker-e2e',
  testMatch: ['<rootDir>/src/**/*.e2e-spec.ts'],
  // Installing each app's production dependencies takes ~20 s on a 2-core machine.
  testTimeout: 180_000,
  maxWorkers: 1,
};
