/*
 * Why this suite exists: no Docker engine runs where the tests run, so the images are never built here. What can be
 * checked without one: that each Dockerfile lints clean, and that it keeps the promises of the issue — multi-stage,
 * production dependencies only (from the app's prune output), a non-root user, a healthcheck that needs nothing but
 * node, and the SDK bootstrap loaded the way `nx serve` loads it. image-start-command.e2e-spec.ts then runs what the
 * final stage would run, on the host.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@nest-redis-otel/testing';
import { format, validate } from 'dockerfile-utils';
import {
  type Dockerfile,
  type DockerfileStage,
  envOf,
  execForm,
  healthcheckCommand,
  instructionsIn,
  lastIn,
  readDockerfile,
  stageNamed,
} from './dockerfile';
import { type App, APPS, dockerfilePath } from './stack-files';

/** Where each app answers its health probe: the port's variable and the path. */
const HEALTH_ENDPOINTS: Record<App, { portVariable: string; path: string }> = {
  'items-api': { portVariable: 'PORT', path: '/api/health' },
  'redis-consumer': { portVariable: 'HEALTH_PORT', path: '/health' },
};

const serveTargetOf = (app: App) =>
  JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'apps', app, 'project.json'), 'utf8')).targets as Record<
    string,
    { dependsOn?: string[]; options?: { runtimeArgs?: string[] } }
  >;

/** The source paths of a stage's `COPY --from=<from>` instructions. */
const copiedFrom = (stage: DockerfileStage, from: string) =>
  instructionsIn(stage, 'COPY')
    .filter((copy) => copy.args.includes(`--from=${from} `))
    .map((copy) => copy.args.split(/\s+/).filter((word) => !word.startsWith('--')));

describe('dockerfile-utils, the linter', () => {
  it('(bites: reports an unknown HEALTHCHECK flag and a malformed EXPOSE)', () => {
    const diagnostics = validate('FROM node:24.21.0-bookworm-slim\nHEALTHCHECK --intervall=10s CMD ["node"]\nEXPOSE http\n');
    expect(diagnostics.map((diagnostic) => diagnostic.message)).toHaveLength(2);
  });
});

describe.each(APPS)('docker/%s.Dockerfile', (app) => {
  let dockerfile: Dockerfile;
  let runtime: DockerfileStage;
  const dist = `/workspace/dist/apps/${app}`;

  beforeAll(() => {
    dockerfile = readDockerfile(dockerfilePath(app));
    runtime = dockerfile.stages.at(-1) as DockerfileStage;
  });

  it('lints clean: no diagnostics from dockerfile-utils, nothing its formatter would change', () => {
    expect(validate(dockerfile.text)).toEqual([]);
    expect(format(dockerfile.text, { tabSize: 4, insertSpaces: true })).toEqual([]);
  });

  it('is multi-stage, every stage on the same official node:<version>-bookworm-slim, an LTS line (22 or 24)', () => {
    expect(dockerfile.stages.map((stage) => stage.name)).toEqual(['build', 'dependencies', 'runtime']);
    const [base] = new Set(dockerfile.stages.map((stage) => stage.image));
    expect(new Set(dockerfile.stages.map((stage) => stage.image)).size).toBe(1);
    const [, major] = /^node:(\d+)\.\d+\.\d+-bookworm-slim$/.exec(base) ?? [];
    expect(['22', '24']).toContain(major);
  });

  it("installs the workspace with npm ci (no fallback) and builds with the app's prune target", () => {
    const build = stageNamed(dockerfile, 'build');
    const runs = instructionsIn(build, 'RUN').map((run) => run.args);
    expect(runs).toEqual(['npm ci --no-audit --no-fund', `npx nx run ${app}:prune --output-style=static`]);
    expect(serveTargetOf(app)['prune']?.dependsOn).toEqual(['prune-lockfile', 'copy-workspace-modules']);
  });

  it('copies every workspace package manifest before npm ci, so that the install sees the whole workspace', () => {
    const build = stageNamed(dockerfile, 'build');
    const workspaces: string[] = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'package.json'), 'utf8')).workspaces;
    const manifests = instructionsIn(build, 'COPY')
      .map((copy) => copy.args.split(/\s+/))
      .filter((words) => words.length === 2 && words[0].endsWith('/package.json'))
      .map(([source]) => source.replace(/\/package\.json$/, ''));
    expect(manifests.sort()).toEqual([...workspaces].sort());
  });

  it('installs production dependencies only, from the pruned package.json and lockfile and the built workspace packages', () => {
    const dependencies = stageNamed(dockerfile, 'dependencies');
    expect(copiedFrom(dependencies, 'build')).toEqual([
      [`${dist}/package.json`, `${dist}/package-lock.json`, './'],
      [`${dist}/workspace_modules`, './workspace_modules'],
    ]);
    const installs = instructionsIn(dependencies, 'RUN').map((run) => run.args);
    expect(installs).toEqual([expect.stringMatching(/^npm ci .*--omit=dev/)]);
  });

  it('ends with the pruned build output and its production node_modules, nothing else', () => {
    expect(lastIn(runtime, 'WORKDIR')?.args).toBe('/app');
    expect(copiedFrom(runtime, 'dependencies')).toEqual([['/app/node_modules', './node_modules']]);
    expect(copiedFrom(runtime, 'build')).toEqual([[`${dist}/`, './']]);
    expect(instructionsIn(runtime, 'COPY')).toHaveLength(2);
    expect(instructionsIn(runtime, 'RUN')).toEqual([]);
  });

  it('runs as a non-root user', () => {
    expect(lastIn(runtime, 'USER')?.args).toEqual(expect.stringMatching(/^(?!root$|0$)\S+$/));
  });

  it('loads the SDK bootstrap with --import before main.js, as the serve target does', () => {
    expect(lastIn(runtime, 'ENTRYPOINT')).toBeUndefined();
    const serveArgs = serveTargetOf(app)['serve']?.options?.runtimeArgs ?? [];
    expect(serveArgs).toEqual(['--import', `./dist/apps/${app}/instrumentation.js`]);
    const fromWorkdir = serveArgs.map((arg) => arg.replace(`./dist/apps/${app}/`, './'));
    expect(execForm(lastIn(runtime, 'CMD')?.args ?? '')).toEqual(['node', ...fromWorkdir, 'main.js']);
  });

  it('has a HEALTHCHECK that needs nothing but node, against the port it EXPOSEs', () => {
    const { portVariable, path } = HEALTH_ENDPOINTS[app];
    const [command, flag, script] = healthcheckCommand(runtime) ?? [];
    expect([command, flag]).toEqual(['node', '-e']);
    expect(script).toContain(`http://127.0.0.1:\${process.env.${portVariable} || ${envOf(runtime)[portVariable]}}${path}`);
    expect(instructionsIn(runtime, 'EXPOSE').map((expose) => expose.args)).toEqual([envOf(runtime)[portVariable]]);
  });
});

describe('.dockerignore', () => {
  it("keeps the host's node_modules and build output out of the build context (the image makes its own)", () => {
    const patterns = readFileSync(join(WORKSPACE_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(patterns).toEqual(expect.arrayContaining(['node_modules', '**/node_modules', 'dist', '.nx']));
  });
});
