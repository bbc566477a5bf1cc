import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stopProcess, WORKSPACE_ROOT } from '@nest-redis-otel/testing';
import { type Dockerfile, type DockerfileStage, instructionsIn, lastIn, stageNamed } from './dockerfile';

/*
 * Replays an image on the host, without a Docker engine: the files its final stage holds, laid out in a temporary
 * directory that stands for its WORKDIR, and its CMD and HEALTHCHECK run from there with its ENV.
 */

/**
 * Lays out what the final stage copies from the `build` stage (paths there are under its WORKDIR, a copy of the
 * repository root, so they are read from the workspace's own dist/), then runs the `RUN npm ci …` of the stage its
 * node_modules come from, as written, in that directory. Returns the directory.
 */
export async function layOutImageFiles(dockerfile: Dockerfile): Promise<string> {
  const runtime = dockerfile.stages.at(-1) as DockerfileStage;
  const build = stageNamed(dockerfile, 'build');
  const buildRoot = lastIn(build, 'WORKDIR')?.args;
  if (!buildRoot) throw new Error('The build stage has no WORKDIR');
  const directory = mkdtempSync(join(tmpdir(), 'image-'));
  try {
    let installedBy: DockerfileStage | undefined;
    for (const copy of instructionsIn(runtime, 'COPY')) {
      const words = copy.args.split(/\s+/);
      const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
      const [destination, ...sources] = words.filter((word) => !word.startsWith('--')).reverse();
      if (from === 'build') {
        for (const source of sources) {
          const inWorkspace = relative(buildRoot, source);
          if (inWorkspace.startsWith('..')) throw new Error(`COPY --from=build of ${source}: outside ${buildRoot}`);
          cpSync(join(WORKSPACE_ROOT, inWorkspace), join(directory, destination), { recursive: true });
        }
      } else if (from !== undefined && sources.every((source) => source.endsWith('/node_modules'))) {
        installedBy = stageNamed(dockerfile, from);
      } else {
        throw new Error(`Cannot replay on the host: COPY ${copy.args}`);
      }
    }
    if (!installedBy) throw new Error('The final stage copies no node_modules from another stage');
    const install = instructionsIn(installedBy, 'RUN').find((run) => run.args.startsWith('npm ci'));
    if (!install) throw new Error(`Stage "${installedBy.name}" runs no npm ci`);
    // --prefer-offline on the host only: its npm cache is warm from the workspace's own install (same versions).
    const { code, output } = await run('sh', ['-c', `${install.args} --prefer-offline`], directory, process.env);
    if (code !== 0) throw new Error(`${install.args} failed (exit ${code}):\n${output}`);
    return directory;
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

/** A process started from an image's CMD on the host. */
export interface ImageProcess {
  readonly process: ChildProcess;
  /** Every line written to stdout and stderr so far. */
  readonly lines: string[];
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line (written or to come) that contains `text`; rejects if the process exits first. */
  waitForLine(text: string, timeoutMs?: number): Promise<string>;
  /** SIGTERM, as `docker stop` sends; resolves with how the process ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs an exec-form command of the image (CMD, HEALTHCHECK) from `directory`, with only `env` (a container inherits
 * nothing from the host) plus PATH. `node` is the Node.js running the test.
 */
export function startImageProcess(argv: string[], directory: string, env: Record<string, string>): ImageProcess {
  const [command, ...args] = argv;
  const child = spawn(command === 'node' ? process.execPath : command, args, {
    cwd: directory,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const newLines = new EventEmitter();
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      newLines.emit('line', line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // 'close' rather than 'exit': by then every line the process wrote has been collected.
  let closed = false;
  const exited = once(child, 'close').then(([code, signal]) => {
    closed = true;
    return { code, signal } as Awaited<ImageProcess['exited']>;
  });

  const waitForLine = (text: string, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const found = lines.find((line) => line.includes(text));
      if (found) return resolve(found);
      const fail = (why: string) => new Error(`${argv.join(' ')}: no line with "${text}" (${why}):\n${lines.join('\n')}`);
      if (closed) return reject(fail(`exited with code ${child.exitCode}`));
      const done = (error: Error | undefined, line?: string) => {
        clearTimeout(timer);
        newLines.off('line', onLine);
        child.off('close', onExit);
        if (error) reject(error);
        else resolve(line as string);
      };
      const onLine = (line: string) => line.includes(text) && done(undefined, line);
      const onExit = (code: number | null) => done(fail(`exited with code ${code}`));
      const timer = setTimeout(() => done(fail(`not within ${timeoutMs} ms`)), timeoutMs);
      newLines.on('line', onLine);
      child.once('close', onExit);
    });

  return {
    process: child,
    lines,
    exited,
    waitForLine,
    stop: async () => {
      await stopProcess(child, 10_000);
      return exited;
    },
  };
}

/** Runs an exec-form command to its end; resolves with its exit code and output. */
export async function runImageCommand(argv: string[], directory: string, env: Record<string, string>) {
  const running = startImageProcess(argv, directory, env);
  const { code } = await running.exited;
  return { code, output: running.lines.join('\n') };
}

async function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}
