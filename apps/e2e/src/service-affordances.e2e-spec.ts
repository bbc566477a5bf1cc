/*
 * What an operator relies on besides the traces: health endpoints an orchestrator can probe (redis-consumer is
 * ready only while subscribed), the API description, and a start-up that refuses bad settings by name. These need
 * the real processes: readiness is about their live Redis connections, start-up about their real exit.
 */
import { spawnSync } from 'node:child_process';
import { findFreePort, serveBuiltApp } from '@nest-redis-otel/testing';
import { type ServedStack, WORKSPACE_ROOT, serveStack } from './served-app';

const RECONNECTED = 'Connected to Redis';

describe('service affordances', () => {
  let stack: ServedStack;

  beforeAll(async () => {
    stack = await serveStack({ requirePrivateRedis: true });
  });

  afterAll(() => stack?.stop());

  it('redis-consumer is ready once subscribed, unready while Redis is down, ready again after it returns', async () => {
    const { redis, consumer, baseUrl, consumerHealthUrl } = stack;
    const ready = await fetch(consumerHealthUrl);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { status: 'ok' } });

    const mark = consumer.lines.length;
    await redis.restart(async () => {
      const [consumerHealth, apiHealth] = await Promise.all([fetch(consumerHealthUrl), fetch(`${baseUrl}/health`)]);
      expect(consumerHealth.status).toBe(503);
      expect(await consumerHealth.json()).toMatchObject({ status: 'unavailable', reason: expect.any(String) });
      expect(apiHealth.status).toBe(503);
    });
    // Both connections of the microservice (subscriber, publisher) are back: the subscriptions are restored.
    const first = await consumer.waitForLine((line) => line.includes(RECONNECTED), { fromLine: mark });
    await consumer.waitForLine((line) => line.includes(RECONNECTED), { fromLine: consumer.lines.indexOf(first, mark) + 1 });
    expect((await fetch(consumerHealthUrl)).status).toBe(200);
  });

  it('items-api describes itself: Swagger UI at /api/docs, the OpenAPI document beside it', async () => {
    const page = await fetch(`${stack.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const document = (await (await fetch(`${stack.baseUrl}/docs/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(document.openapi).toMatch(/^3\./);
    const responses = (path: string, method: string) => Object.keys(document.paths[path]?.[method]?.responses ?? {}).sort();
    expect(responses('/api/items', 'post')).toEqual(['202', '400', '503']);
    expect(responses('/api/items/{id}', 'get')).toEqual(['200', '400', '404', '503', '504']);
    expect(responses('/api/pub', 'get')).toEqual(['202', '503']);
    expect(responses('/api/health', 'get')).toEqual(['200', '503']);
  });

  it.each([
    ['items-api', { PORT: 'eighty' }, 'PORT="eighty" is invalid: expected an integer from 0 to 65535'],
    ['items-api', { REDIS_URL: 'localhost:6379' }, 'REDIS_URL "localhost:6379" must start with redis:// or rediss://'],
    ['redis-consumer', { HEALTH_PORT: '-1' }, 'HEALTH_PORT="-1" is invalid'],
    ['redis-consumer', { TRACE_PARENT_MODE: 'child' }, 'TRACE_PARENT_MODE="child" is invalid: expected "parent" or "link"'],
  ])('%s refuses to start with %j, naming the variable', async (app, env, message) => {
    const start = serveBuiltApp(app, { OTEL_SDK_DISABLED: 'true', ...env }, 'never printed');
    await expect(start).rejects.toThrow(/exited \(code 1\)/);
    await expect(start).rejects.toThrow(message);
  });

  // Read by the SDK bootstrap, before the app and its configuration exist.
  it.each([
    // The lines are JSON (not a terminal): the quotes are escaped.
    ['items-api', { OTEL_SDK_DISABLED: 'yes' }, /OTEL_SDK_DISABLED=\\"yes\\" is invalid: expected \\"true\\" \(no SDK\) or \\"false\\"/],
    ['redis-consumer', { INCOMING_TRACE_CONTEXT: 'bogus' }, /INCOMING_TRACE_CONTEXT=\\"bogus\\" is invalid/],
  ])('%s refuses to start with %j, naming the variable', async (app, env, message) => {
    const start = serveBuiltApp(app, env, 'never printed');
    await expect(start).rejects.toThrow(/exited \(code 1\)/);
    await expect(start).rejects.toThrow(message);
  });

  it('with LOG_FORMAT=json every line is JSON: a replaced OTEL_* value and a collector that is away included', async () => {
    const collectorAway = `http://127.0.0.1:${await findFreePort()}`;
    const api = await serveBuiltApp(
      'items-api',
      {
        REDIS_URL: stack.redis.url,
        PORT: String(await findFreePort()),
        LOG_FORMAT: 'json',
        OTEL_TRACES_SAMPLER: 'bogus',
        OTEL_EXPORTER_OTLP_ENDPOINT: collectorAway,
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
      'items-api listening',
    );
    try {
      const port = /:(\d+)\/api/.exec(api.lines.find((line) => line.includes('items-api listening')) ?? '')?.[1];
      expect((await fetch(`http://127.0.0.1:${port}/api/pub`)).status).toBe(202);
      const exportError = await api.waitForLine((line) => line.includes('UNAVAILABLE'));
      const sampler = api.lines.filter((line) => line.includes('OTEL_TRACES_SAMPLER'));
      expect(sampler).toHaveLength(1);
      expect(JSON.parse(sampler[0])).toMatchObject({ level: 40, service: 'items-api', msg: expect.stringContaining('using parentbased_always_on') });
      expect(JSON.parse(exportError)).toMatchObject({ level: 40, service: 'items-api', msg: expect.stringMatching(/^OpenTelemetry: /) });
      const isJson = (line: string) => {
        try {
          JSON.parse(line);
          return true;
        } catch {
          return false;
        }
      };
      expect(api.lines.filter((line) => !isJson(line))).toEqual([]);
    } finally {
      await api.stop();
    }
  });

  it.each(['items-api', 'redis-consumer'])('%s refuses a REDIS_URL whose password holds "/" without printing the password', async (app) => {
    const start = serveBuiltApp(app, { OTEL_SDK_DISABLED: 'true', REDIS_URL: 'redis://:abc/def+ghi@host:6379' }, 'never printed');
    await expect(start).rejects.toThrow(/exited \(code 1\)/);
    await expect(start).rejects.toThrow('REDIS_URL "redis://:***@host:6379"');
    await expect(start).rejects.toThrow(/percent-encode/);
    await expect(start).rejects.not.toThrow(/abc|def\+ghi/);
  });

  it.each(['redis://:abc/def+ghi@host:6379', 'redis://app:6380/abc@host', 'redis://app:ab?c#d@host'])(
    '`npm start` (tools/start-services.mjs) refuses REDIS_URL=%s without printing any of it',
    (url) => {
      const run = spawnSync(process.execPath, ['tools/start-services.mjs'], {
        cwd: WORKSPACE_ROOT,
        env: { ...process.env, REDIS_URL: url },
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/REDIS_URL is not a valid Redis URL \(not shown: it may hold a password\)/);
      expect(run.stdout + run.stderr).not.toMatch(/abc|6380|ab\?c/);
    },
  );
});
