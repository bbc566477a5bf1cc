/**
 * `npm run demo` is the first thing a newcomer runs: it must start what is missing, show the cross-service trace
 * and leave nothing running. This runs the demo target's own command (read from apps/demo/project.json) against a
 * local address where no Redis answers, so that the demo has to start one, and checks what it printed and stopped.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, WORKSPACE_ROOT } from '@nest-redis-otel/testing';

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('npm run demo', () => {
  const folder = mkdtempSync(join(tmpdir(), 'demo-e2e-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('starts Redis, both apps and a receiver, prints each cross-service trace, writes the SVG, stops everything', async () => {
    const [redisPort, apiPort] = [await findFreePort(), await findFreePort()];
    expect(await answers(redisPort)).toBe(false);
    const target = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'apps', 'demo', 'project.json'), 'utf8')).targets.demo.options;
    const [program, ...args] = (target.command as string).split(' ');
    expect(program).toBe('node');
    const svgFile = join(folder, 'trace.svg');

    const demo = spawn(process.execPath, [...args, '--svg', svgFile], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...target.env, REDIS_URL: `redis://127.0.0.1:${redisPort}`, PORT: String(apiPort), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = await once(demo, 'exit');
    expect({ code, output }).toMatchObject({ code: 0 });

    expect(output).toContain(`✓ Redis — started redis-server at redis://127.0.0.1:${redisPort} (stopped on exit)`);
    expect(output).toContain(`http://localhost:${apiPort}/api`);
    const blocks = output.split('\n\n').filter((block) => /trace [0-9a-f]{32}/.test(block));
    expect(blocks.map((block) => block.split('   ')[0])).toEqual([
      'POST /api/items → 202',
      expect.stringMatching(/^GET \/api\/items\/[0-9a-f-]{36} → 200$/),
      expect.stringMatching(/^GET \/api\/items\/[0-9a-f-]{36} → 404$/),
      'GET /api/pub → 202',
    ]);
    for (const block of blocks) {
      // The consumer's span sits under the producer's, in the other service: the hop is marked.
      expect(block).toMatch(/└─ process [\w.-]+\s+redis-consumer\s+CONSUMER .*⇠ items-api/);
      expect(block).toMatch(/send [\w.-]+\s+items-api\s+PRODUCER/);
    }
    expect(blocks[0]).toMatch(/hset\s+redis-consumer\s+CLIENT/);
    expect(blocks[2]).toMatch(/process item\.get\s+redis-consumer\s+CONSUMER .*ERROR/);

    const svg = readFileSync(svgFile, 'utf8');
    expect(svg).toMatch(/^<svg xmlns='http:\/\/www\.w3\.org\/2000\/svg'/);
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(4);

    expect(output).toContain('✓ Stopping what the demo started');
    expect(await answers(redisPort)).toBe(false);
    expect(await answers(apiPort)).toBe(false);
  });
});
