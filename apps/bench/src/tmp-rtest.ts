import { spawnSync } from 'node:child_process';
import { startRedisTestServer } from '@nest-redis-otel/testing';
import { startCountingReceiver } from './counting-receiver.client';
(async () => {
  const r = await startCountingReceiver();
  const redis = await startRedisTestServer({ requirePrivate: true });
  for (const [sdk, transport, kind, observe] of [[true, 'ours', 'event', ''], [false, 'nest', 'event', 'all'], [false, 'nest', 'request', 'defaults']] as const) {
  const out = spawnSync(process.execPath, [...(sdk ? ['--import', './dist/apps/items-api/instrumentation.js'] : []), '-r', '@swc-node/register', '-e', 'require("./apps/bench/src/transport-child.ts")'], {
    env: { ...process.env, SWC_NODE_PROJECT: 'apps/bench/tsconfig.app.json', OTEL_EXPORTER_OTLP_ENDPOINT: r.grpcEndpoint, OBSERVE_ENDPOINT: r.httpUrl, BENCH_OBSERVE: observe, BENCH_RECEIVER_URL: r.httpUrl, OTEL_METRICS_EXPORTER: 'none', BENCH_TRANSPORT: transport, BENCH_KIND: kind, BENCH_REDIS_URL: redis.url, BENCH_MESSAGES: '3000', BENCH_IN_FLIGHT: '64', BENCH_FLUSH: '1' },
  });
  console.log(transport, kind, observe, out.stdout.toString().slice(-600), out.stderr.toString().slice(-1500));
  }
  console.log(JSON.stringify(await r.stats()));
  await r.stop(); await redis.stop();
})();
