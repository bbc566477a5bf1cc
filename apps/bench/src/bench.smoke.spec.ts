/*
 * The benchmark is not part of the test command (it takes minutes and its figures depend on the machine), but it
 * must keep working: this runs one short iteration of every measurement and checks that the table it writes has every
 * row, each with a number. No speed is asserted here.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@nest-redis-otel/testing';

describe('npm run bench -- --smoke', () => {
  const folder = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('measures every path and writes the table of ratios', async () => {
    const target = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'apps', 'bench', 'project.json'), 'utf8')).targets.bench.options;
    const [, ...args] = (target.command as string).split(' ');
    const out = join(folder, 'performance.md');
    const bench = spawn(process.execPath, [...args, '--smoke', '--out', out], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...target.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    bench.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    bench.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = await once(bench, 'exit');
    expect({ code, output }).toMatchObject({ code: 0 });

    const table = readFileSync(out, 'utf8');
    for (const path of ['raw ioredis publish → subscriber', 'Nest emit → @EventPattern, no SDK', 'traced, 100 % sampled, OTLP export', 'traced, 0 % sampled (parent-based)']) {
      expect(table).toMatch(new RegExp(`\\| ${path.replace(/[().%]/g, '\\$&')} \\| \\d+ \\| \\d+ \\(\\d+–\\d+\\) \\| [\\d.]+ \\| [\\d.]+ \\|`));
    }
    for (const goal of ['traced (100 %) / untraced Nest, 64 in flight', 'inject + extract per hop', 'spans per message', 'bytes added to a message']) {
      expect(table).toMatch(new RegExp(`\\| ${goal.replace(/[().%+]/g, '\\$&')}[^|]* \\| [\\d.]+[^|]* \\| [^|]+ \\| (PASS|\\*\\*MISS\\*\\*) \\|`));
    }
  }, 120_000);
});
