/*
 * Why this suite exists: without a Docker engine the images are never built here, and the static checks only read
 * the Dockerfiles. This suite runs what the images would run, on the host: each app's pruned build output with its
 * production dependencies installed by the Dockerfile's own `npm ci` line, started by the final stage's CMD from
 * that directory with the final stage's ENV plus the compose file's environment for the service, against a private
 * redis-server and an OTLP/gRPC receiver standing in for the `redis` and `jaeger` services. It would fail if the
 * pruned dependencies missed a package the bundle or the SDK bootstrap loads, if the CMD did not load the bootstrap,
 * or if the HEALTHCHECK did not pass for a healthy app (and fail for a stopped one).
 */
import { rmSync } from 'node:fs';
import {
  findFreePort,
  OtlpTraceReceiver,
  type ReceivedSpan,
  type RedisTestServer,
  spanTree,
  startRedisTestServer,
} from '@nest-redis-otel/testing';
import { type DockerfileStage, envOf, execForm, healthcheckCommand, lastIn, readDockerfile } from './dockerfile';
import { type ImageProcess, layOutImageFiles, runImageCommand, startImageProcess } from './host-run';
import { type App, APPS, dockerfilePath, environmentOf, readComposeFile } from './stack-files';

/** An app as its image runs it: the directory standing for WORKDIR, its CMD, HEALTHCHECK and environment. */
interface ImageOnHost {
  directory: string;
  command: string[];
  healthcheck: string[];
  env: Record<string, string>;
  running?: ImageProcess;
}

describe('the images, run on the host from the pruned build output', () => {
  let receiver: OtlpTraceReceiver;
  let redis: RedisTestServer;
  const images = {} as Record<App, ImageOnHost>;
  let apiPort: number;

  beforeAll(async () => {
    receiver = await OtlpTraceReceiver.start();
    // Never the Redis of REDIS_URL or 6379: the stack below is the test's own.
    redis = await startRedisTestServer({ requirePrivate: true });
    apiPort = await findFreePort();
    const compose = readComposeFile();
    // What compose points at its `redis` and `jaeger` services, pointed at the test's stand-ins instead.
    const standIns: Record<App, Record<string, string>> = {
      'items-api': { PORT: String(apiPort) },
      'redis-consumer': { HEALTH_PORT: String(await findFreePort()) },
    };
    for (const app of APPS) {
      const dockerfile = readDockerfile(dockerfilePath(app));
      const runtime = dockerfile.stages.at(-1) as DockerfileStage;
      const composeEnv = environmentOf(compose.services[app]);
      const replaced = { REDIS_URL: redis.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, ...standIns[app] };
      expect(Object.keys(composeEnv)).toEqual(expect.arrayContaining(Object.keys(replaced)));
      images[app] = {
        directory: await layOutImageFiles(dockerfile),
        command: execForm(lastIn(runtime, 'CMD')?.args ?? ''),
        healthcheck: healthcheckCommand(runtime) ?? [],
        // Exported every 50 ms instead of 5 s, so that the test does not wait for the batch.
        env: { ...envOf(runtime), ...composeEnv, ...replaced, OTEL_BSP_SCHEDULE_DELAY: '50' },
      };
    }
  });

  afterAll(async () => {
    await Promise.all(APPS.map((app) => images[app]?.running?.stop()));
    await Promise.all([receiver?.stop(), redis?.stop()]);
    for (const app of APPS) if (images[app]) rmSync(images[app].directory, { recursive: true, force: true });
  });

  const healthcheck = (app: App) => runImageCommand(images[app].healthcheck, images[app].directory, images[app].env);

  it("redis-consumer: its CMD starts it, subscribed, and its image's HEALTHCHECK passes", async () => {
    const consumer = images['redis-consumer'];
    expect(await healthcheck('redis-consumer')).toMatchObject({ code: 1 });
    consumer.running = startImageProcess(consumer.command, consumer.directory, consumer.env);
    await consumer.running.waitForLine('redis-consumer subscribed');
    expect(await healthcheck('redis-consumer')).toEqual({ code: 0, output: '' });
  });

  it("items-api: its CMD starts it, GET /api/health answers 200, and its image's HEALTHCHECK passes", async () => {
    const api = images['items-api'];
    api.running = startImageProcess(api.command, api.directory, api.env);
    await api.running.waitForLine('items-api listening');
    const response = await fetch(`http://127.0.0.1:${apiPort}/api/health`);
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await healthcheck('items-api')).toEqual({ code: 0, output: '' });
  });

  it('POST /api/items: 202, and both services export the spans of one trace, the Redis commands included', async () => {
    const response = await fetch(`http://127.0.0.1:${apiPort}/api/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'container', price: 2 }),
    });
    expect(response.status).toBe(202);

    const expected = [
      'items-api PRODUCER send item.created',
      'redis-consumer CONSUMER process item.created',
      'redis-consumer CLIENT hset',
    ];
    const keysOf = (received: ReceivedSpan[]) => new Set(received.map((s) => `${s.serviceName} ${s.kind} ${s.name}`));
    const allArrived = (received: ReceivedSpan[]) => expected.every((key) => keysOf(received).has(key)) && [...received];
    const spans = await receiver.waitFor(allArrived, 15_000);
    const only = (service: string, name: string): ReceivedSpan => {
      const matches = spans.filter((span) => span.serviceName === service && span.name === name);
      if (matches.length !== 1) throw new Error(`${matches.length} "${name}" spans of ${service}:\n  ${spanTree(spans)}`);
      return matches[0];
    };
    const producer = only('items-api', 'send item.created');
    const consumer = only('redis-consumer', 'process item.created');
    expect(consumer).toMatchObject({ traceId: producer.traceId, parentSpanId: producer.spanId });
    // ioredis spans come from the SDK bootstrap's ESM loader hook, loaded from the pruned node_modules (the
    // transport's own PUBLISH makes none: the PRODUCER span is that publish).
    expect(only('redis-consumer', 'hset').parentSpanId).toBe(consumer.spanId);
    expect(spans.filter((span) => span.name === 'publish')).toEqual([]);
  });

  it("SIGTERM, as `docker stop` sends: both exit with code 0, and their image's HEALTHCHECK then fails", async () => {
    const [api, consumer] = await Promise.all(APPS.map((app) => images[app].running?.stop()));
    expect({ api, consumer }).toEqual({ api: { code: 0, signal: null }, consumer: { code: 0, signal: null } });
    for (const app of APPS) expect(await healthcheck(app)).toMatchObject({ code: 1 });
  });
});
