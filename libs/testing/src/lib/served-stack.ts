import { findFreePort, startRedisTestServer, type RedisTestServer } from './redis-test.server';
import { OtlpTraceReceiver } from './otlp-trace.receiver';
import { type ServedApp, serveBuiltApp } from './served-app';

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
