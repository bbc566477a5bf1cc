/*
 * The benchmark is not part of the test command (it takes minutes and its figures depend on the machine), but it
 * must keep working: this runs one short iteration of every measurement (messaging, HTTP end to end, dead collector,
 * SDK costs) and checks that the table it writes has every row, each with a number. No speed is asserted here; the
 * span count is (two per message), since it does not depend on the machine.
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
    const escape = (text: string) => text.replace(/[().%+|]/g, '\\$&');
    for (const path of [
      'raw ioredis publish → subscriber',
      'Nest emit → @EventPattern, no SDK',
      "Nest's transport, SDK loaded (it makes no span)",
      'our transport, no SDK',
      'traced, 100 % sampled, OTLP export',
      'traced, 0 % sampled (parent-based)',
      'Nest send → @MessagePattern → reply, no SDK',
      'send → reply, traced 100 %',
      'Redis Streams transport (XADD → XREADGROUP → XACK), no SDK',
      'Redis Streams transport, traced 100 %',
      'Redis Streams send → reply, traced 100 %',
      'traced 100 %, collector accepts and never answers',
      'traced 100 %, collector port closed',
    ]) {
      // Path | call | in flight | msg/s (min–max) | p50 | p99 | loop delay | RSS
      expect(table).toMatch(new RegExp(`\\| ${escape(path)} \\| (emit|send) \\| \\d+ \\| \\d+ \\(\\d+–\\d+\\) \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| \\d+ \\|`));
    }
    for (const tracing of ['untraced (OTEL_SDK_DISABLED)', 'traced, 100 % sampled', 'traced, 0 % sampled']) {
      for (const load of ['1000 req/s', 'saturation']) {
        expect(table).toMatch(new RegExp(`\\| ${escape(tracing)} \\| ${load} \\| \\d+ \\| \\d+ \\| [\\d.]+ \\| [\\d.]+ \\| [^|]+ \\| 0 \\|`));
      }
    }
    for (const goal of [
      'traced (100 %) / untraced Nest, 64 in flight',
      'HTTP end to end, traced (100 %) / untraced, saturation',
      'HTTP accepted → handler start p99',
      'event-loop delay p99, collector never answers',
      'event-loop delay p99, collector port closed',
      'inject + extract per hop',
      'spans per message',
      'bytes added to a message',
    ]) {
      expect(table).toMatch(new RegExp(`\\| ${escape(goal)}[^|]* \\| [\\d.]+[^|]* \\| [^|]+ \\| (PASS|\\*\\*MISS\\*\\*) \\|`));
    }
    for (const comparison of [
      'request/response round trips, traced 100 % / untraced Nest, 16 in flight',
      'collector never answers / live collector: msg/s; RSS',
      'collector port closed / live collector: msg/s; RSS',
    ]) {
      expect(table).toMatch(new RegExp(`\\| ${escape(comparison)} \\| [\\d.]+ \\(\\d+ / \\d+/s\\)[^|]* \\|`));
    }
    // Two spans per message: the transport's own PUBLISH makes no span of its own.
    expect(table).toMatch(/\| spans per message \(emit → handler\) \| 2\.00 \|/);
    expect(table).toMatch(/\| SDK floor for 2 spans \+ 2 contexts \+ 1 hop per message, 100 % \| [\d.]+ µs → best ratio [\d.]+ \|/);
  }, 240_000);
});
