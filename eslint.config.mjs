import nx from '@nx/eslint-plugin';
import jsoncParser from 'jsonc-eslint-parser';

// Nx requires every constraint whose sourceTag matches, so test files get their own set rather than extra entries.
const moduleBoundaries = ({ inTests }) => {
  const libsFor = (tags) => (inTests ? [...tags, 'type:test-support'] : tags);
  return [
    'error',
    {
      // A package's build must not need an unbuilt lib; its tests may use the test-support lib from source.
      enforceBuildableLibDependency: !inTests,
      allow: [],
      depConstraints: [
        // Apps use libs; libs never reach into apps; nothing imports an app or the e2e project.
        { sourceTag: 'type:app', onlyDependOnLibsWithTags: libsFor(['type:lib']) },
        { sourceTag: 'type:lib', onlyDependOnLibsWithTags: libsFor(['type:lib']) },
        { sourceTag: 'type:test-support', onlyDependOnLibsWithTags: [] },
        { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:test-support'] },
        // The demo runs the local stack (receiver, Redis, served apps) that the tests use.
        { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:test-support'] },
        // Scope: the published packages (tracing, sdk, streams-transport) are installed into other teams' apps, so
        // they depend on each other only, never on this product's own libs (its configuration, its message contract).
        { sourceTag: 'scope:package', onlyDependOnLibsWithTags: libsFor(['scope:package']) },
        { sourceTag: 'scope:product', onlyDependOnLibsWithTags: libsFor(['scope:package', 'scope:product']) },
      ],
    },
  ];
};

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  { ignores: ['**/dist', '**/node_modules', '**/tmp', '**/coverage', '**/.nx'] },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    // Tool configs (eslint, jest, webpack) extend the workspace's by path, as Nx generates them.
    ignores: ['**/eslint.config.mjs', '**/jest.config.js', '**/webpack.config.js'],
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries({ inTests: false }),
      // A parameter a signature needs but the body does not use says so with a leading underscore.
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests may use the test-support lib (private Redis, OTLP receiver); production code may not.
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', '**/test/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries({ inTests: true }),
    },
  },
  {
    // The SDK is started once, by the bootstrap, before anything else loads. Elsewhere: the API only.
    files: ['**/*.ts'],
    // The bootstrap package (libs/sdk) turns this off in its own eslint.config.mjs.
    ignores: ['**/*.spec.ts', '**/test/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@opentelemetry/sdk-*', '@opentelemetry/exporter-*', '@opentelemetry/instrumentation*'],
              message: 'Only the SDK bootstrap (@nest-redis-otel/sdk, libs/sdk) loads the OpenTelemetry SDK; use @opentelemetry/api.',
            },
          ],
        },
      ],
    },
  },
  {
    // Each package.json lists what its code imports (and nothing it does not): the packages install outside this
    // workspace, where nothing hoisted hides a missing dependency.
    files: ['**/package.json'],
    languageOptions: { parser: jsoncParser },
    rules: {
      '@nx/dependency-checks': [
        'error',
        {
          ignoredFiles: ['{projectRoot}/eslint.config.mjs', '{projectRoot}/jest.config.js', '{projectRoot}/**/*.spec.ts', '{projectRoot}/src/test/**'],
          // Loaded by name at run time, which the import graph cannot see: Nest's HTTP driver (NestFactory.create) and
          // ValidationPipe's transformer; the ESM loader hooks the SDK bootstrap registers by path. `express` is
          // imported for its types only.
          ignoredDependencies: ['@nestjs/platform-express', 'class-transformer', '@opentelemetry/instrumentation', 'import-in-the-middle', 'express'],
          checkObsoleteDependencies: true,
          checkVersionMismatches: false,
        },
      ],
    },
  },
];
