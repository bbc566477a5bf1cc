import { connect } from 'node:net';
import { spawnSync } from 'node:child_process';
import {
  findFreePort,
  OtlpTraceReceiver,
  serveBuiltApp,
  type ServedApp,
  startRedisServerAt,
} from '@nest-redis-otel/testing';
import { redactRedisUrl } from '@nest-redis-otel/tracing';
import type { Progress } from './progress';

/** What the demo runs: an OTLP receiver of its own, a Redis (found or started), both apps as separate processes. */
export interface LocalStack {
  receiver: OtlpTraceReceiver;
  redisUrl: string;
  /** Whether the demo started that Redis (and so stops it). */
  startedRedis: boolean;
  consumer: ServedApp;
  api: ServedApp;
  baseUrl: string;
}

const DEFAULT_REDIS_URL = 'redis://localhost:6379';
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

/** Everything the demo started, stopped in reverse order; safe to call twice. */
export class Teardown {
  private readonly steps: (() => Promise<void>)[] = [];

  add(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      await step().catch((error: unknown) => console.error(`While stopping: ${(error as Error).message}`));
    }
  }
}

export async function startLocalStack(progress: Progress, teardown: Teardown, env = process.env): Promise<LocalStack> {
  const receiver = await progress.step('OTLP gRPC receiver', () => OtlpTraceReceiver.start(), (r) => r.endpoint);
  teardown.add(() => receiver.stop());

  const redis = await progress.step('Redis', () => ensureRedis(env['REDIS_URL'] || DEFAULT_REDIS_URL), (r) =>
    r.stop ? `started redis-server at ${r.url} (stopped on exit)` : `answers at ${redactRedisUrl(r.url)}`,
  );
  if (redis.stop) teardown.add(redis.stop);

  const common = {
    REDIS_URL: redis.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    // Short batches: the demo shows each trace as soon as its spans are in.
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  const healthPort = await portFor(env['HEALTH_PORT'], 3001);
  const consumer = await progress.step(
    'redis-consumer (nx serve redis-consumer)',
    () => serveBuiltApp('redis-consumer', { ...common, HEALTH_PORT: String(healthPort) }, 'redis-consumer subscribed'),
    (app) => `pid ${app.process.pid}`,
  );
  teardown.add(() => consumer.stop());

  const port = await portFor(env['PORT'], 3000);
  const api = await progress.step(
    'items-api (nx serve items-api)',
    () => serveBuiltApp('items-api', { ...common, PORT: String(port) }, 'items-api listening'),
    () => `http://localhost:${port}/api`,
  );
  teardown.add(() => api.stop());

  return { receiver, redisUrl: redis.url, startedRedis: Boolean(redis.stop), consumer, api, baseUrl: `http://127.0.0.1:${port}/api` };
}

/**
 * The Redis at `url` when one answers; otherwise, when the URL is local and `redis-server` is installed, a
 * throwaway one started on that port; otherwise an error that says how to get one.
 */
async function ensureRedis(url: string): Promise<{ url: string; stop?: () => Promise<void> }> {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  const port = Number(parsed.port || 6379);
  if (await answers(host, port)) return { url };
  const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
  if (!LOCAL_HOSTS.has(host) || !hasRedisServer) {
    throw new Error(
      `No Redis answers at ${host}:${port}${hasRedisServer ? '' : ' and redis-server is not installed'}. Start one, e.g.\n` +
        '  sudo apt-get install redis-server && redis-server      (Debian/Ubuntu)\n' +
        '  brew install redis && redis-server                     (macOS)\n' +
        '  docker run --rm -p 6379:6379 redis:7\n' +
        'or set REDIS_URL to a Redis you can use.',
    );
  }
  // A fresh server has no password: only the port and database of the URL carry over.
  const started = await startRedisServerAt(port);
  return { url: `${started.url}${parsed.pathname.length > 1 ? parsed.pathname : ''}`, stop: started.stop };
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** The port the user set; else the usual one when it is free; else any free one (the demo must not clash). */
async function portFor(configured: string | undefined, usual: number): Promise<number> {
  if (configured) return Number(configured);
  const taken = (await answers('127.0.0.1', usual)) || (await answers('::1', usual));
  return taken ? findFreePort() : usual;
}
