// What the workspace's e2e suites cannot show: that the packages work for someone who is not this workspace. Here
// the apps load our packages through workspace links, `paths` and this repo's tsconfig; an outside team gets npm
// tarballs, its own tsconfig and whatever versions npm picks. A missing dependency, a wrong `exports`, a declaration
// that does not compile or an ESM app that cannot import a CommonJS package shows up only there. So this spec packs
// the three packages, builds fresh apps from docs/guide.md (the guide is the test's source: its tagged blocks are
// written, installed, built and run as they are) and asserts one trace across their processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findFreePort,
  OtlpTraceReceiver,
  type ReceivedSpan,
  type RedisTestServer,
  type ServedApp,
  serveProcess,
  spanTree,
  startRedisTestServer,
} from '@nest-redis-otel/testing';
import { createApp, installOnce, type Manifest, manifestOf, packOurPackages } from './fresh-app';
import { type AppKind, guideSteps, type SdkChoice } from './guide-steps';

/** The OpenTelemetry SDK 3.x line that a consumer brings as its own SDK (not in the workspace's lockfile). */
const SDK_3_VERSIONS = {
  '@opentelemetry/sdk-node': '0.301.0',
  '@opentelemetry/exporter-trace-otlp-grpc': '0.301.0',
  '@opentelemetry/core': '3.1.0',
  // sdk-node 0.301.0 declares the peer `>=1.10.0 <1.11.0`.
  '@opentelemetry/api': '1.10.0',
};

interface Cell {
  name: string;
  type: 'commonjs' | 'module';
  consumerSdk: SdkChoice;
  /** The Node this cell needs: the packages' `engines`, or SDK 3.x's. */
  minNode: [number, number];
}

const CELLS: Cell[] = [
  { name: 'CommonJS apps, consumer on @nest-redis-otel/sdk (SDK 2.x)', type: 'commonjs', consumerSdk: 'ours', minNode: [22, 12] },
  { name: 'ESM apps, consumer on its own NodeSDK of the 3.x line', type: 'module', consumerSdk: 'own', minNode: [22, 15] },
  { name: 'ESM apps, consumer on @nest-redis-otel/sdk (SDK 2.x)', type: 'module', consumerSdk: 'ours', minNode: [22, 12] },
  { name: 'CommonJS apps, consumer on its own NodeSDK of the 3.x line', type: 'commonjs', consumerSdk: 'own', minNode: [22, 15] },
];

const READY_LINE: Record<AppKind, string> = { producer: 'orders-api listening', consumer: 'orders-worker listening' };

function requireNode([major, minor]: [number, number], why: string): void {
  const [actualMajor, actualMinor] = process.versions.node.split('.').map(Number);
  if (actualMajor < major || (actualMajor === major && actualMinor < minor)) {
    throw new Error(`${why} needs Node ≥ ${major}.${minor}; this is Node ${process.versions.node}. Put a newer node first on the PATH.`);
  }
}

describe('the packages, installed from their tarballs into fresh apps', () => {
  const workFolder = mkdtempSync(join(tmpdir(), 'nest-redis-otel-packages-'));
  const timings: string[] = [];
  const installs = new Map<string, Promise<string>>();
  let tarballs: Awaited<ReturnType<typeof packOurPackages>>;
  let redis: RedisTestServer;
  let receiver: OtlpTraceReceiver;
  let running: ServedApp[] = [];

  async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      timings.push(`${what}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
    }
  }

  /** One npm install per distinct manifest (the producer's serves both cells). */
  function nodeModulesFor(key: string, manifest: Manifest): Promise<string> {
    const id = `${key} ${JSON.stringify(manifest)}`;
    if (!installs.has(id)) {
      installs.set(id, timed(`npm install (${key})`, () => installOnce(join(workFolder, 'installs', `${key}-${installs.size}`), manifest)));
    }
    return installs.get(id) as Promise<string>;
  }

  beforeAll(async () => {
    requireNode([22, 12], 'The packages (engines)');
    tarballs = await timed('npm pack ×3', () => packOurPackages(workFolder));
    redis = await startRedisTestServer({ requirePrivate: true });
    receiver = await OtlpTraceReceiver.start();
  });

  afterEach(async () => {
    await Promise.all(running.map((app) => app.stop()));
    running = [];
    receiver.clear();
  });

  afterAll(async () => {
    await receiver?.stop();
    await redis?.stop();
    if (process.env['KEEP_PACKAGES_E2E'] === '1') console.log(`Fresh apps kept in ${workFolder}`);
    else rmSync(workFolder, { recursive: true, force: true });
    console.log(`packages-e2e timings on Node ${process.versions.node}:\n  ${timings.join('\n  ')}`);
  });

  it.each(CELLS)('$name: one trace from the HTTP request to the handler, replies and errors on both sides', async (cell) => {
    requireNode(cell.minNode, `The cell "${cell.name}"`);
    const cellFolder = join(workFolder, `${cell.type}-${cell.consumerSdk}`);
    const ports = { producer: await findFreePort() };
    const started: Record<AppKind, ServedApp | undefined> = { producer: undefined, consumer: undefined };
    const serviceName: Record<AppKind, string> = { producer: 'orders-api', consumer: 'orders-worker' };

    for (const app of ['consumer', 'producer'] as const) {
      const sdk: SdkChoice = app === 'consumer' ? cell.consumerSdk : 'ours';
      const steps = guideSteps(app, sdk);
      const manifest = manifestOf(steps.install, tarballs, sdk === 'own' ? SDK_3_VERSIONS : {});
      const nodeModules = await nodeModulesFor(`${app}-${sdk}`, manifest);
      const folder = join(cellFolder, app);
      await timed(`tsc (${cell.type} ${app})`, () =>
        createApp(folder, { name: app, type: cell.type, manifest, steps, nodeModules }),
      );
      const [node, ...args] = steps.run;
      if (node !== 'node') throw new Error(`docs/guide.md: the run command of the ${app} should start with node, got ${steps.run.join(' ')}`);
      started[app] = await timed(`start (${cell.type} ${app})`, () =>
        serveProcess(
          `${cell.type} ${app}`,
          args,
          {
            cwd: folder,
            env: {
              REDIS_URL: redis.url,
              PORT: String(ports.producer),
              OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
              OTEL_BSP_SCHEDULE_DELAY: '100',
              OTEL_METRIC_EXPORT_INTERVAL: '1000',
            },
          },
          READY_LINE[app],
        ),
      );
      running.push(started[app] as ServedApp);
    }
    const api = `http://127.0.0.1:${ports.producer}`;
    const ofCell = (spans: ReceivedSpan[]) => spans.filter((span) => Object.values(serviceName).includes(span.serviceName));
    const pair = (spans: ReceivedSpan[], pattern: string) => {
      const producer = ofCell(spans).find((span) => span.name === `send ${pattern}` && span.kind === 'PRODUCER');
      const consumer = ofCell(spans).find((span) => span.name === `process ${pattern}` && span.kind === 'CONSUMER');
      return producer && consumer && producer.endTimeUnixNano > 0n && { producer, consumer };
    };
    const describeSpans = () => spanTree(ofCell(receiver.spans));

    // emit → @EventPattern, under the HTTP request's span
    const created = await fetch(`${api}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: '42' }),
    });
    expect(created.status).toBe(201);
    const event = await receiver.waitFor((spans) => pair(spans, 'order.created'));
    expect(event.producer.serviceName).toBe(serviceName.producer);
    expect(event.consumer.serviceName).toBe(serviceName.consumer);
    expect(event.consumer.traceId).toBe(event.producer.traceId);
    expect(event.consumer.parentSpanId).toBe(event.producer.spanId);
    expect([event.producer.scopeName, event.producer.scopeVersion]).toEqual(['@nest-redis-otel/tracing', '0.1.0']);
    const request = receiver.spans.find((span) => span.spanId === event.producer.parentSpanId);
    expect({ kind: request?.kind, service: request?.serviceName, tree: describeSpans() }).toMatchObject({
      kind: 'SERVER',
      service: serviceName.producer,
    });

    // send → @MessagePattern → reply
    const got = await fetch(`${api}/orders/42`);
    expect(await got.json()).toEqual({ id: '42', status: 'created' });
    const reply = await receiver.waitFor((spans) => pair(spans, 'order.get'));
    expect(reply.consumer.traceId).toBe(reply.producer.traceId);
    expect(reply.consumer.parentSpanId).toBe(reply.producer.spanId);
    expect([reply.producer.status.code, reply.consumer.status.code]).toEqual(['UNSET', 'UNSET']);

    // a handler that throws: ERROR on the consumer span and on the producer span of the send
    const cancelled = await fetch(`${api}/orders/42/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(500);
    const failure = await receiver.waitFor((spans) => pair(spans, 'order.cancel'));
    expect(failure.consumer.parentSpanId).toBe(failure.producer.spanId);
    expect({ consumer: failure.consumer.status, producer: failure.producer.status, tree: describeSpans() }).toMatchObject({
      consumer: { code: 'ERROR', message: expect.stringContaining('has shipped') },
      producer: { code: 'ERROR' },
    });

    // the producer's logs carry the trace of the request they were written in
    const traced = started.producer?.lines.some((line) => line.includes(`"trace_id":"${event.producer.traceId}"`));
    expect({ traced, lines: started.producer?.lines }).toMatchObject({ traced: true });
  });
});
