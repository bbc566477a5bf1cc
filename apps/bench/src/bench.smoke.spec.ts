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
      'traced 100 % (worker export), collector accepts and never answers',
      'traced 100 % (worker export), collector port closed',
      'traced 100 %, export from a worker thread',
      'traced 100 %, OTLP/HTTP protobuf export',
      '@nestjs/observe, defaults (Nest emit, no SDK)',
      '@nestjs/observe, shipping everything (Nest emit, no SDK)',
      'send → reply, traced 100 %, export from a worker thread',
      'send → reply, traced 0 % (parent-based)',
      'send → reply, @nestjs/observe defaults (Nest, no SDK)',
      'send → reply, @nestjs/observe shipping everything (Nest, no SDK)',
    ]) {
      // Path | call | in flight | msg/s (min–max) | p50 | p99 | loop delay | RSS | CPU main / child / receiver / Redis | shipped
      expect(table).toMatch(
        new RegExp(
          `\\| ${escape(path)} \\| (emit|send) \\| \\d+ \\| \\d+ \\(\\d+–\\d+\\) \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| \\d+ \\| [\\d.]+ / [\\d.]+ / ([\\d.]+|—) / [\\d.]+ \\| [^|]+ \\|`,
        ),
      );
    }
    expect(table).toContain('CPU µs/msg: main thread / child total / receiver / Redis');
    // The Observe rows shipped something: requests / KiB / traces per 1,000 messages, all above 0.
    for (const path of ['@nestjs/observe, defaults (Nest emit, no SDK)', '@nestjs/observe, shipping everything (Nest emit, no SDK)', 'send → reply, @nestjs/observe shipping everything (Nest, no SDK)']) {
      const shipped = table.match(new RegExp(`\\| ${escape(path)} \\|.* \\| ([\\d.]+) / (\\d+) / (\\d+) traces \\|`));
      expect({ path, shipped: shipped?.slice(1).map(Number) }).toEqual({ path, shipped: [expect.any(Number), expect.any(Number), expect.any(Number)] });
      expect(shipped?.slice(1).map(Number).every((value) => value > 0)).toBe(true);
    }
    expect(table).not.toMatch(/@nestjs\/observe.*\*\*nothing shipped\*\*/);
    for (const tracing of [
      'untraced (OTEL_SDK_DISABLED)',
      'traced, 100 % sampled',
      'traced, 0 % sampled',
      'traced 100 %, export from a worker thread',
      '@nestjs/observe, defaults (SDK disabled)',
      '@nestjs/observe, shipping everything (SDK disabled)',
    ]) {
      for (const load of ['1000 req/s', 'saturation']) {
        expect(table).toMatch(
          new RegExp(`\\| ${escape(tracing)} \\| ${load} \\| \\d+ \\| \\d+ \\| [\\d.]+ \\| [\\d.]+ \\| [^|]+ \\| 0 \\| \\d+ / \\d+ / [\\d.]+ / [\\d.]+ \\| [\\d.]+ / \\d+ / [^|]+ \\|`),
        );
      }
      if (tracing.startsWith('@nestjs/observe')) {
        expect(table).toMatch(new RegExp(`\\| ${escape(tracing)} \\| saturation \\|.* \\| [1-9][\\d.]* / [1-9]\\d* / [1-9]\\d* traces \\|`));
      }
    }
    for (const goal of [
      'emit, traced (100 %, worker export) / untraced Nest, 64 in flight',
      'send → reply, traced (100 %, worker export) / untraced Nest, 16 in flight',
      'HTTP end to end, traced (100 %, worker export) / untraced, saturation',
      'emit, traced (0 %) / untraced Nest, 64 in flight',
      'send → reply, traced (0 %) / untraced Nest, 16 in flight',
      'HTTP end to end, traced (0 %) / untraced, saturation',
      'emit, ours traced (100 %, worker export) / @nestjs/observe shipping everything, 64 in flight',
      'send → reply, ours traced (100 %, worker export) / @nestjs/observe shipping everything, 16 in flight',
      'HTTP, ours traced (100 %, worker export) / @nestjs/observe shipping everything, saturation',
      'main-thread CPU per message, traced 100 % (worker export) / untraced Nest, emit 64',
      '@nestjs/observe shipping everything really ships, emit',
      '@nestjs/observe shipping everything really ships, send → reply',
      '@nestjs/observe shipping everything really ships, HTTP saturation',
      'HTTP accepted → handler start p99',
      'event-loop delay p99, collector never answers',
      'event-loop delay p99, collector port closed',
      'inject + extract per hop',
      'spans per message',
      'bytes added to a message',
    ]) {
      expect(table).toMatch(new RegExp(`\\| ${escape(goal)}[^|]* \\| [\\d.]+[^|]* \\| [^|]+ \\| (PASS|\\*\\*MISS\\*\\*) \\|`));
    }
    // Every spans exported with the collector up, none lost.
    expect(table).toMatch(/\| spans exported, collector up \(traced-1, live-long\): received \/ 2 × messages sent \| (\d+) \/ \1 \(0 lost\) \| 0 lost \| PASS \|/);
    expect(table).toMatch(/\| @nestjs\/observe shipping everything really ships, emit: traces per message \| [\d.]+ \| ≥ 1 \| PASS \|/);
    for (const comparison of [
      'emit, traced 100 %: worker-thread export / in-process export, 64 in flight',
      'collector never answers / live collector: msg/s; RSS',
      'collector port closed / live collector: msg/s; RSS',
    ]) {
      expect(table).toMatch(new RegExp(`\\| ${escape(comparison)} \\| [\\d.]+ \\(\\d+ / \\d+/s\\)[^|]* \\|`));
    }
    // Two spans per message: the transport's own PUBLISH makes no span of its own.
    expect(table).toMatch(/\| spans per message \(emit → handler\) \| 2\.00 \|/);
    expect(table).toMatch(/\| SDK floor for 2 spans \+ 2 contexts \+ 1 hop per message, 100 % \| [\d.]+ µs → best ratio [\d.]+ \|/);
  }, 480_000);
});
