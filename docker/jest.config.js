// Static checks of the compose file and the Dockerfiles (`nx test docker`); jest.e2e.config.js runs the images'
// start commands on the host (`nx e2e docker`).
module.exports = {
  displayName: 'docker',
  preset: '../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  // The preset maps the libs for projects two folders deep (apps/x, libs/x); this one is one folder deep.
  moduleNameMapper: {
    '^@nest-redis-otel/testing$': '<rootDir>/../libs/testing/src/index.ts',
  },
};
