/*
 * The bootstrap with OTEL_SPAN_EXPORT_THREAD=worker, in a process of its own, from the built package (dist, as an app
 * loads it): spans ended before SIGTERM, which wait in the processor's buffer (the schedule delay is far longer than
 * the test), reach the collector only through the shutdown flush that the bootstrap runs on the signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { OtlpTraceReceiver, WORKSPACE_ROOT } from '@nest-redis-otel/testing';

const SDK_DIST = join(WORKSPACE_ROOT, 'libs', 'sdk', 'dist', 'index.js');

const CHILD = `
const { startTracing } = require(${JSON.stringify(SDK_DIST)});
startTracing({ serviceName: 'sigterm-worker' });
const { trace } = require('@opentelemetry/api');
const tracer = trace.getTracer('sigterm-spec');
for (let i = 0; i < 25; i++) tracer.startSpan('last work ' + i).end();
setInterval(() => undefined, 1000);
process.stdout.write('spans ended\\n');
`;

describe('startTracing with OTEL_SPAN_EXPORT_THREAD=worker', () => {
  let receiver: OtlpTraceReceiver;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    receiver = await OtlpTraceReceiver.start();
  });
  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await receiver.stop();
  });

  it('exports the spans ended before SIGTERM, then exits 0', async () => {
    child = spawn(process.execPath, ['-e', CHILD], {
      cwd: WORKSPACE_ROOT,
      env: {
        ...process.env,
        OTEL_SPAN_EXPORT_THREAD: 'worker',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        OTEL_METRICS_EXPORTER: 'none',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit');
    while (!output.includes('spans ended') && child.exitCode === null) await once(child.stdout ?? child, 'data');
    expect(receiver.spans).toEqual([]);

    child.kill('SIGTERM');
    const [code] = await exited;
    expect({ code, output: output.replace('spans ended\n', '') }).toEqual({ code: 0, output: '' });
    expect(receiver.spans.map((span) => span.name).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `last work ${i}`).sort());
    expect(new Set(receiver.spans.map((span) => span.serviceName))).toEqual(new Set(['sigterm-worker']));
  });
});
