// `npm run faults`: the fault suite. Starts the built apps as processes against a private redis-server and an OTLP
// endpoint it controls, injects each fault (Redis outage, steady load, dead collector, SIGTERM under load, bad
// input, deeply nested hostile messages, a Sentinel or Cluster primary killed), prints the figures as a table and writes them to docs/reliability.md.
// Exits 1 when a goal is missed.
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { WORKSPACE_ROOT } from '@nest-redis-otel/testing';
import { badInput } from './bad-input';
import { failover, type FailoverDurations } from './failover-scenarios';
import { deepNesting } from './hostile-scenarios';
import { type Figure, figuresTable, SECTION_END, SECTION_START, withSection } from './figures';
import { type Durations, deadCollector, redisOutage, shutdownUnderLoad, steadyRun } from './scenarios';
import { redisStall } from './stall-scenarios';
import { type StreamsDurations, streamsKillAndRestart, streamsReplicas } from './streams-scenarios';

// The full run uses a real deployment's batching, and the exporter's default 10 s timeout against the dead peer.
const FULL: Durations = {
  outageSeconds: 30,
  steadySeconds: 60,
  steadyRate: 1000,
  deadCollectorSeconds: 20,
  deadCollectorExport: { scheduleDelayMs: 5000, timeoutMs: 10_000 },
};
const SMOKE: Durations = {
  outageSeconds: 3,
  steadySeconds: 5,
  steadyRate: 200,
  deadCollectorSeconds: 5,
  deadCollectorExport: { scheduleDelayMs: 500, timeoutMs: 1000 },
};
const STREAMS_FULL: StreamsDurations = { seconds: 60, rate: 1000, backlog: 20_000 };
const STREAMS_SMOKE: StreamsDurations = { seconds: 6, rate: 100, backlog: 500 };
// Failover: the primary is killed after a third of the load.
const FAILOVER_FULL: FailoverDurations = { seconds: 20, rate: 200 };
const FAILOVER_SMOKE: FailoverDurations = { seconds: 6, rate: 50 };
const REPORT = join(WORKSPACE_ROOT, 'docs', 'reliability.md');
// A smoke run's figures are not the documented ones: they go to the untracked tmp/ unless --out says otherwise.
const SMOKE_REPORT = join(WORKSPACE_ROOT, 'tmp', 'reliability.smoke.md');

async function main(): Promise<number> {
  // --only <text>: the scenarios whose label contains it (while working on one); the report is then not written,
  // unless --out names a file for it.
  const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' } } });
  const durations = values.smoke ? SMOKE : FULL;
  const figures: Figure[] = [];
  const notes: string[] = [];
  const run = async (label: string, scenario: () => Promise<Figure[]>) => {
    if (values.only && !label.includes(values.only)) return;
    console.log(`… ${label}`);
    const started = performance.now();
    try {
      const result = await scenario();
      figures.push(...result);
      for (const figure of result) console.log(`  ${figure.pass ? '✓' : '✗'} ${figure.name}: ${figure.value} (goal ${figure.goal})`);
    } catch (error) {
      figures.push({ scenario: label, name: 'ran to the end', value: `failed: ${(error as Error).message}`, goal: 'runs', pass: false });
      console.log(`  ✗ ${label} failed: ${(error as Error).stack}`);
    }
    console.log(`  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  };

  await run('bad input', async () => {
    const { figures: result, failures } = await badInput();
    notes.push(...failures.map((failure) => `bad input failed: ${failure}`));
    return result;
  });
  const deep = values.smoke ? { seconds: 3, rate: 50 } : { seconds: 20, rate: 200 };
  for (const transport of ['pubsub', 'streams'] as const) {
    await run(`deep nesting (${deep.rate} req/s × ${deep.seconds} s), ${transport}`, () => deepNesting({ ...deep, transport }));
  }
  await run(`Redis outage (${durations.outageSeconds} s)`, () => redisOutage(durations));
  const stallSeconds = values.smoke ? 3 : 10;
  for (const transport of ['pubsub', 'streams'] as const) {
    await run(`Redis stalled (${stallSeconds} s, SIGSTOP), ${transport}`, () => redisStall({ seconds: stallSeconds, transport }));
  }
  await run(`steady load (${durations.steadyRate} req/s for ${durations.steadySeconds} s)`, () => steadyRun(durations));
  await run(`dead collector (${durations.deadCollectorSeconds} s)`, () => deadCollector(durations));
  await run('SIGTERM under load', () => shutdownUnderLoad());
  const streams = values.smoke ? STREAMS_SMOKE : STREAMS_FULL;
  await run(`streams: consumer killed, Redis restarted (${streams.rate}/s × ${streams.seconds} s)`, () => streamsKillAndRestart(streams));
  await run(`streams: 1 and 3 replicas (${streams.backlog} entries)`, () => streamsReplicas(streams));
  const failoverDurations = values.smoke ? FAILOVER_SMOKE : FAILOVER_FULL;
  for (const topology of ['sentinel', 'cluster'] as const) {
    for (const transport of ['pubsub', 'streams'] as const) {
      await run(`failover: ${topology}, ${transport} (${failoverDurations.rate}/s × ${failoverDurations.seconds} s)`, () =>
        failover(failoverDurations, topology, transport),
      );
    }
  }

  const table = figuresTable(figures);
  console.log(`\n${table}\n`);
  for (const note of notes) console.log(note);
  const section = [
    SECTION_START,
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run faults${values.smoke ? ' -- --smoke' : ''}\` on ${machine()}.`,
    '',
    table,
    SECTION_END,
  ].join('\n');
  const target = values.out ?? (values.smoke ? SMOKE_REPORT : REPORT);
  if (values.only && !values.out) console.log('--only: the report is left as it was');
  else {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, withSection(readFileSafe(target), section));
    console.log(`Figures written to ${target}`);
  }
  return figures.every((figure) => figure.pass) ? 0 : 1;
}

function machine(): string {
  const redis = execFileSync('redis-server', ['--version']).toString().match(/v=([\d.]+)/)?.[1] ?? '?';
  return `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, Redis ${redis}`;
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
