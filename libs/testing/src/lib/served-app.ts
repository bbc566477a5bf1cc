import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stopProcess } from './redis-test.server';

/** The Nx workspace this file belongs to: the nearest folder up from here that holds `nx.json`. */
export const WORKSPACE_ROOT = findWorkspaceRoot(__dirname);

function findWorkspaceRoot(start: string): string {
  for (let folder = start; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'nx.json'))) return folder;
    if (dirname(folder) === folder) throw new Error(`No nx.json above ${start}`);
  }
}

/** One of the built apps, running as its own process. */
export interface ServedApp {
  readonly name: string;
  readonly process: ChildProcess;
  /** Every line the app wrote to stdout and stderr so far. */
  readonly lines: string[];
  /** Resolves with the first line from `fromLine` on (already written or to come) that `matches` accepts. */
  waitForLine(matches: (line: string) => boolean, options?: { fromLine?: number; timeoutMs?: number }): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a built app the way `nx serve <app>` does: `node <runtimeArgs of its serve target> dist/apps/<app>/main.js`
 * from the workspace root, resolving once it wrote `readyLine`. The runtime arguments are read from the app's
 * project.json, so that whoever uses this fails if the serve target stops loading the SDK bootstrap.
 */
export async function serveBuiltApp(name: string, env: Record<string, string>, readyLine: string): Promise<ServedApp> {
  const project = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'apps', name, 'project.json'), 'utf8'));
  const runtimeArgs: string[] = project.targets.serve.options.runtimeArgs;
  const main = join('dist', 'apps', name, 'main.js');
  if (!existsSync(join(WORKSPACE_ROOT, main))) throw new Error(`${main} is missing: build it first (npx nx build ${name})`);
  return serveProcess(name, [...runtimeArgs, main], { cwd: WORKSPACE_ROOT, env }, readyLine);
}

/**
 * Starts `node <args>` (this test's Node) in `cwd` as the app `name`, resolving once it wrote `readyLine`; its lines
 * are kept and can be awaited. `serveBuiltApp` for this workspace's apps; also for apps built elsewhere.
 */
export async function serveProcess(
  name: string,
  args: readonly string[],
  { cwd, env }: { cwd: string; env: Record<string, string> },
  readyLine: string,
): Promise<ServedApp> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  const addLine = (line: string) => {
    if (line.trim() === '') return;
    lines.push(line);
    listeners.forEach((listener) => listener(line));
  };
  // A chunk of a pipe can end inside a line (or a character): a JSON log line cut in two would not parse. Each
  // stream keeps its unfinished line until the rest arrives.
  for (const stream of [child.stdout, child.stderr]) {
    let unfinished = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (unfinished + chunk).split('\n');
      unfinished = parts.pop() ?? '';
      parts.forEach(addLine);
    });
    stream?.on('end', () => addLine(unfinished));
  }

  const waitForLine = (matches: (line: string) => boolean, { fromLine = 0, timeoutMs = 20_000 } = {}) =>
    new Promise<string>((resolve, reject) => {
      const found = lines.slice(fromLine).find(matches);
      if (found) return resolve(found);
      const done = (error?: Error, line?: string) => {
        clearTimeout(timer);
        listeners.delete(listener);
        child.off('close', onExit);
        if (error) reject(error);
        else resolve(line as string);
      };
      const listener = (line: string) => matches(line) && done(undefined, line);
      const onExit = (code: number | null) => done(new Error(`${name} exited (code ${code}):\n${lines.join('\n')}`));
      const timer = setTimeout(
        () => done(new Error(`${name}: no matching line within ${timeoutMs} ms:\n${lines.join('\n')}`)),
        timeoutMs,
      );
      listeners.add(listener);
      // 'close', not 'exit': a process that dies at once has written its last lines, but they may not be read yet.
      child.once('close', onExit);
    });

  const app: ServedApp = { name, process: child, lines, waitForLine, stop: () => stopProcess(child, 10_000) };
  try {
    await waitForLine((line) => line.includes(readyLine));
  } catch (error) {
    await app.stop();
    throw error;
  }
  return app;
}
