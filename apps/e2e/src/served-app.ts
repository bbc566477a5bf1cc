import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  findFreePort,
  OtlpTraceReceiver,
  type RedisTestServer,
  startRedisTestServer,
  stopProcess,
} from '@nest-redis-otel/testing';

export const WORKSPACE_ROOT = join(__dirname, '..', '..', '..');

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
 * from the workspace root. The runtime arguments are read from the app's project.json, so that this test fails if
 * the serve target stops loading the SDK bootstrap.
 */
export async function serveBuiltApp(name: string, env: Record<string, string>, readyLine: string): Promise<ServedApp> {
  const project = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'apps', name, 'project.json'), 'utf8'));
  const runtimeArgs: string[] = project.targets.serve.options.runtimeArgs;
  const child = spawn(process.execPath, [...runtimeArgs, join('dist', 'apps', name, 'main.js')], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      listeners.forEach((listener) => listener(line));
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const waitForLine = (matches: (line: string) => boolean, { fromLine = 0, timeoutMs = 20_000 } = {}) =>
    new Promise<string>((resolve, reject) => {
      const found = lines.slice(fromLine).find(matches);
      if (found) return resolve(found);
      const done = (error?: Error, line?: string) => {
        clearTimeout(timer);
        listeners.delete(listener);
        child.off('exit', onExit);
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
      child.once('exit', onExit);
    });

  const app: ServedApp = { name, process: child, lines, waitForLine, stop: () => stopProcess(child, 10_000) };
  await waitForLine((line) => line.includes(readyLine));
  return app;
}

/** Both apps served against a Redis and an OTLP receiver of the test's. */
export interface ServedStack {
  redis: RedisTestServer;
  receiver: OtlpTraceReceiver;
  consumer: ServedApp;
  api: ServedApp;
  /** `http://127.0.0.1:<port>/api` of items-api. */
  baseUrl: string;
  /** `http://127.0.0.1:<port>/health` of redis-consumer. */
  consumerHealthUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts an OTLP receiver, a Redis (private, or REDIS_URL's unless `requirePrivateRedis`), redis-consumer, then
 * items-api, each app with the common environment plus its own extras. Spans are exported every 50 ms unless the
 * environment says otherwise.
 */
export async function serveStack(
  options: { requirePrivateRedis?: boolean; env?: Record<string, string>; consumerEnv?: Record<string, string> } = {},
): Promise<ServedStack> {
  const receiver = await OtlpTraceReceiver.start();
  const redis = await startRedisTestServer({ requirePrivate: options.requirePrivateRedis });
  const [port, healthPort] = [await findFreePort(), await findFreePort()];
  const env = {
    REDIS_URL: redis.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '50',
    ...options.env,
  };
  const started: ServedApp[] = [];
  const stop = async () => {
    await Promise.all(started.map((app) => app.stop()));
    await Promise.all([receiver.stop(), redis.stop()]);
  };
  try {
    const consumer = await serveBuiltApp(
      'redis-consumer',
      { ...env, HEALTH_PORT: String(healthPort), ...options.consumerEnv },
      'redis-consumer subscribed',
    );
    started.push(consumer);
    const api = await serveBuiltApp('items-api', { ...env, PORT: String(port) }, 'items-api listening');
    started.push(api);
    return {
      redis,
      receiver,
      consumer,
      api,
      baseUrl: `http://127.0.0.1:${port}/api`,
      consumerHealthUrl: `http://127.0.0.1:${healthPort}/health`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
