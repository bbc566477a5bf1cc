// `npm run bench`: what tracing costs on the messaging path, as ratios against baselines measured in the same run.
// Each measurement runs in a process of its own, untraced and traced alternately, repeated; medians are compared.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OtlpTraceReceiver, startRedisTestServer, WORKSPACE_ROOT } from '@nest-redis-otel/testing';
import { measureContextHop } from './micro';

interface Variant {
  name: string;
  mode: 'raw' | 'nest' | 'traced';
  inFlight: number;
  env?: Record<string, string>;
}
interface Sample {
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const BOOTSTRAP = join('dist', 'apps', 'items-api', 'instrumentation.js');
const VARIANTS: Variant[] = [
  { name: 'raw ioredis publish → subscriber', mode: 'raw', inFlight: 1 },
  { name: 'raw ioredis publish → subscriber', mode: 'raw', inFlight: 64 },
  { name: 'Nest emit → @EventPattern, no SDK', mode: 'nest', inFlight: 1 },
  { name: 'Nest emit → @EventPattern, no SDK', mode: 'nest', inFlight: 64 },
  { name: 'traced, 100 % sampled, OTLP export', mode: 'traced', inFlight: 1 },
  { name: 'traced, 100 % sampled, OTLP export', mode: 'traced', inFlight: 64 },
  { name: 'traced, 0 % sampled (parent-based)', mode: 'traced', inFlight: 64, env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' } },
];

function runChild(variant: Variant, redisUrl: string, collector: string, messages: number): Promise<Sample> {
  const args = [
    ...(variant.mode === 'traced' ? ['--import', `./${BOOTSTRAP}`] : []),
    '-r',
    '@swc-node/register',
    // Required, not run as the main module: with the SDK's ESM hook registered, Node would load a main .ts file
    // through the ESM loader, which does not know the extension.
    '-e',
    `require(${JSON.stringify(`./${join('apps', 'bench', 'src', 'transport-child.ts')}`)})`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: WORKSPACE_ROOT,
      env: {
        ...process.env,
        SWC_NODE_PROJECT: 'apps/bench/tsconfig.app.json',
        OTEL_SERVICE_NAME: 'bench',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector,
        OTEL_METRICS_EXPORTER: 'none',
        BENCH_MODE: variant.mode,
        BENCH_REDIS_URL: redisUrl,
        BENCH_MESSAGES: String(messages),
        BENCH_IN_FLIGHT: String(variant.inFlight),
        ...variant.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      const line = output.split('\n').find((text) => text.startsWith('{"messagesPerSecond"'));
      if (code === 0 && line) resolve(JSON.parse(line) as Sample);
      else reject(new Error(`${variant.name} (${variant.inFlight} in flight) failed (${code}):\n${output}`));
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, out: { type: 'string' } } });
  const repeats = values.smoke ? 1 : 3;
  const messages = (inFlight: number) => (values.smoke ? 200 : inFlight === 1 ? 2000 : 10_000);
  const redis = await startRedisTestServer({ requirePrivate: true });
  const receiver = await OtlpTraceReceiver.start();
  const samples = new Map<Variant, Sample[]>();
  try {
    for (let round = 0; round < repeats; round++) {
      // Interleaved, so that a slow moment of the machine hits every variant alike.
      for (const variant of VARIANTS) {
        const sample = await runChild(variant, redis.url, receiver.endpoint, messages(variant.inFlight));
        samples.set(variant, [...(samples.get(variant) ?? []), sample]);
        console.log(`  ${variant.name}, ${variant.inFlight} in flight: ${sample.messagesPerSecond.toFixed(0)} msg/s`);
      }
    }
  } finally {
    await redis.stop();
  }
  // Spans per message: what the 100 %-sampled runs exported (each message: PRODUCER, publish CLIENT, CONSUMER).
  await receiver.waitFor((spans) => spans.length > 0, 10_000).catch(() => undefined);
  const tracedMessages = VARIANTS.filter((v) => v.mode === 'traced' && !v.env).reduce((sum, v) => sum + messages(v.inFlight) * repeats, 0);
  const spansPerMessage = receiver.spans.filter((span) => span.serviceName === 'bench').length / tracedMessages;
  await receiver.stop();
  const hop = measureContextHop(values.smoke ? 10_000 : 200_000);

  const rate = (mode: Variant['mode'], inFlight: number, sampled = true) =>
    median(samples.get(VARIANTS.find((v) => v.mode === mode && v.inFlight === inFlight && Boolean(v.env) === !sampled) as Variant)!.map((s) => s.messagesPerSecond));
  const rows: [string, string, string, boolean][] = [
    ['traced (100 %) / untraced Nest, 64 in flight', ratio(rate('traced', 64), rate('nest', 64)), '≥ 0.90', rate('traced', 64) / rate('nest', 64) >= 0.9],
    ['traced (100 %) / untraced Nest, 1 in flight', ratio(rate('traced', 1), rate('nest', 1)), '≥ 0.90', rate('traced', 1) / rate('nest', 1) >= 0.9],
    ['traced (0 %) / untraced Nest, 64 in flight', ratio(rate('traced', 64, false), rate('nest', 64)), '≥ 0.97', rate('traced', 64, false) / rate('nest', 64) >= 0.97],
    ['traced (100 %) Nest / raw ioredis limit, 64 in flight', ratio(rate('traced', 64), rate('raw', 64)), '≥ 0.50', rate('traced', 64) / rate('raw', 64) >= 0.5],
    ['inject + extract per hop', `${hop.microsecondsPerHop.toFixed(2)} µs`, '≤ 5 µs', hop.microsecondsPerHop <= 5],
    ['spans per message (emit → handler)', spansPerMessage.toFixed(2), '≤ 6', spansPerMessage > 0 && spansPerMessage <= 6],
    ['bytes added to a message (metadata)', String(hop.bytesAdded), '≤ 200', hop.bytesAdded <= 200],
  ];
  const measured = VARIANTS.map((variant) => {
    const list = samples.get(variant) ?? [];
    const rates = list.map((s) => s.messagesPerSecond);
    return `| ${variant.name} | ${variant.inFlight} | ${median(rates).toFixed(0)} (${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}) | ${median(list.map((s) => s.p50Ms)).toFixed(2)} | ${median(list.map((s) => s.p99Ms)).toFixed(2)} |`;
  });
  const table = [
    '| Path | In flight | msg/s, median (min–max) | p50 ms | p99 ms |',
    '| --- | --- | --- | --- | --- |',
    ...measured,
    '',
    '| Goal | Measured | Target | |',
    '| --- | --- | --- | --- |',
    ...rows.map(([name, value, goal, pass]) => `| ${name} | ${value} | ${goal} | ${pass ? 'PASS' : '**MISS**'} |`),
  ].join('\n');
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, Redis ${execFileSync('redis-server', ['--version']).toString().match(/v=([\d.]+)/)?.[1]}`;
  const header = `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench${values.smoke ? ' -- --smoke' : ''}\` on ${machine}; median of ${repeats} run(s) of each, interleaved.`;
  console.log(`\n${header}\n\n${table}\n`);
  const target = values.out ?? join(WORKSPACE_ROOT, 'docs', 'performance.md');
  writeFileSync(target, `${PERFORMANCE_PROSE}\n${header}\n\n${table}\n`);
  console.log(`Written to ${target}`);
  return 0;
}

function ratio(value: number, baseline: number): string {
  return `${(value / baseline).toFixed(2)} (${value.toFixed(0)} / ${baseline.toFixed(0)} msg/s)`;
}

const PERFORMANCE_PROSE = `# Performance

What tracing costs on the messaging path, measured by \`npm run bench\` (\`apps/bench\`): every figure is a ratio
against a baseline measured in the same run, on the same machine, so that the machine's speed cancels out.

- **Raw limit**: a plain ioredis client publishes the JSON payload items-api sends; a plain subscriber receives it.
- **Nest, no SDK**: Nest's own \`ClientRedis.emit\` → \`ServerRedis\` → an \`@EventPattern\` handler, in one process.
- **Traced**: the same with \`TracedClientRedis\`/\`TracedServerRedis\` and the apps' SDK bootstrap loaded with
  \`--import\` (batch span processor, OTLP gRPC export to a local receiver, the ioredis instrumentation), sampled at
  100 %, or at 0 % with a parent-based sampler.
- "In flight": 1 = each message handled before the next is sent (latency-bound); 64 = a window of 64 (throughput).
  Latency is publish → handler, in the one process.
- **Per hop**: \`injectTraceCarrier\` + \`propagation.extract\` with \`untrustedCarrierGetter\`, W3C propagators.

Each measurement runs in a fresh process; variants are interleaved and repeated; the table shows medians.
Not measured yet (issue 4): request/response round trips, end to end over HTTP at 1,000 req/s, and event-loop delay
with a dead collector (the fault suite, docs/reliability.md, shows latency and memory with a dead collector).
`;

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
