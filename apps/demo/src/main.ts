// `npm run demo`: the whole product on one machine, no Docker. Starts an OTLP receiver, a Redis when none answers,
// both apps the way `nx serve` does, sends a few requests and prints each trace as a waterfall across the services.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runDemoRequests } from './demo-requests';
import { startLocalStack, Teardown } from './local-stack';
import { Progress } from './progress';
import { renderSvgWaterfall } from './waterfall/svg-waterfall';
import { renderTextWaterfall } from './waterfall/text-waterfall';
import { layoutTrace } from './waterfall/trace-layout';

const USAGE = `Usage: npm run demo [-- --svg <file>]
  --svg <file>  also write the traces as an SVG waterfall (the picture in the README)`;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { svg: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const progress = new Progress();
  const teardown = new Teardown();
  const stopOnSignal = (signal: NodeJS.Signals) => {
    progress.line(`\n${signal}: stopping what the demo started`);
    void teardown.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const color = Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'];

  try {
    progress.line('Starting the stack (items-api → Redis → redis-consumer, spans to a local OTLP receiver)');
    const stack = await startLocalStack(progress, teardown);
    const requests = await progress.step('Sending requests and collecting their traces', () =>
      runDemoRequests(stack.baseUrl, stack.receiver),
    (all) => `${all.length} traces, ${all.reduce((sum, r) => sum + r.spans.length, 0)} spans`,
    );

    const traces = requests.map((request) => ({ title: request.title, layout: layoutTrace(request.spans) }));
    for (const { title, layout } of traces) {
      const services = new Set(layout.rows.map((row) => row.span.serviceName));
      progress.line();
      progress.line(`${title}   trace ${layout.traceId}   (${[...services].join(' → ')})`);
      progress.line(renderTextWaterfall(layout, { color }));
    }
    progress.line();
    progress.line('⇠ marks a span whose parent ran in the other process: the context crossed Redis in the message.');
    if (values.svg) {
      const file = resolve(values.svg);
      writeFileSync(file, renderSvgWaterfall(traces));
      progress.line(`SVG waterfall written to ${file}`);
    }
    progress.line('To browse traces in Jaeger instead, run the Docker stack: see docker/README.md.');
    return 0;
  } catch (error) {
    progress.line(`\nThe demo failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await progress.step('Stopping what the demo started', () => teardown.run());
  }
}

main().then((code) => process.exit(code));
