#!/usr/bin/env node
// `npm start`: builds items-api and redis-consumer with Nx, makes sure a Redis answers at REDIS_URL (default
// redis://localhost:6379; when none does and the URL is local, starts a throwaway `redis-server` for as long as this
// command runs), then runs both apps as `nx serve` runs them: `node <serve runtimeArgs> dist/apps/<app>/main.js`.
// When either app stops on its own (a bad setting, a port in use), the other one and the Redis it started are stopped
// too, and this command exits non-zero naming the app and why.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const APPS = ['redis-consumer', 'items-api'];
const workspaceRoot = join(import.meta.dirname, '..');
const redisUrl = parseRedisUrl(process.env.REDIS_URL || 'redis://localhost:6379');
const host = redisUrl.hostname.replace(/^\[|\]$/g, '') || 'localhost';
const port = Number(redisUrl.port || 6379);
/** What this command started and stops on its way out, last started first. */
const children = [];
let isStopping = false;

/**
 * REDIS_URL parsed, or an exit with a message that does not show it (it may hold a password). An "@" after the host
 * means a password holding "/", "?" or "#": the URL parser would take part of it for the host or port.
 */
function parseRedisUrl(text) {
  let parsed;
  try {
    parsed = new URL(text);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['redis:', 'rediss:'].includes(parsed.protocol) || /@/.test(parsed.pathname + parsed.search + parsed.hash)) {
    fail(
      'REDIS_URL is not a valid Redis URL (not shown: it may hold a password). Expected redis://[user:password@]host[:port][/db]\n' +
        'or rediss://…; percent-encode "/", "?", "#", "@" and "%" in the user or password (as %2F, %3F, %23, %40, %25).',
    );
  }
  return parsed;
}

function fail(message) {
  console.error(`npm start: ${message}`);
  stopAllThenExit('SIGTERM', 1);
}

function answers(hostname, portNumber) {
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: portNumber, timeout: 1000 });
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

async function ensureRedis() {
  if (await answers(host, port)) {
    console.log(`Redis answers at ${host}:${port}`);
    return;
  }
  const isLocal = ['localhost', '127.0.0.1', '::1'].includes(host);
  const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
  if (!isLocal || !hasRedisServer) {
    fail(
      `no Redis answers at ${host}:${port} (REDIS_URL). Start one, e.g.:\n` +
        '  sudo apt-get install redis-server   (Debian/Ubuntu), then: redis-server\n' +
        '  docker run --rm -p 6379:6379 redis:7\n' +
        'or set REDIS_URL to a Redis you can use.',
    );
  }
  console.log(`No Redis at ${host}:${port}: starting redis-server (no persistence) for this session`);
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  children.push({ name: 'redis-server', child: redis });
  redis.once('exit', (code) => isStopping || fail(`the redis-server it started exited (code ${code})`));
  for (let attempt = 0; attempt < 50 && !(await answers(host, port)); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function build() {
  const result = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '-p', ...APPS, '--output-style=static'], {
    cwd: workspaceRoot,
    stdio: 'inherit',
  });
  if (result.status !== 0) fail(`the build failed (exit ${result.status}): see above`);
}

/** Runs a built app the way its `nx serve` target does (the same runtimeArgs: the SDK bootstrap first). */
function serve(app) {
  const project = JSON.parse(readFileSync(join(workspaceRoot, 'apps', app, 'project.json'), 'utf8'));
  const runtimeArgs = project.targets.serve.options.runtimeArgs;
  const child = spawn(process.execPath, [...runtimeArgs, join('dist', 'apps', app, 'main.js')], {
    cwd: workspaceRoot,
    stdio: 'inherit',
    env: { NODE_ENV: 'development', ...process.env },
  });
  children.push({ name: app, child });
  child.once('exit', (code, signal) => {
    if (isStopping) return;
    fail(`${app} stopped (${signal ?? `exit code ${code}`}): its reason is in its last lines above. Stopping the rest.`);
  });
}

/** Stops what this command started (each app flushes its spans and closes), then exits with `code`. */
function stopAllThenExit(signal, code) {
  isStopping = true;
  const running = children.reverse().filter(({ child }) => child.exitCode === null && child.signalCode === null);
  if (running.length === 0) process.exit(code);
  for (const { child } of running) child.kill(signal);
  Promise.all(running.map(({ child }) => new Promise((resolve) => child.once('exit', resolve)))).then(() => process.exit(code));
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(signal, () => isStopping || stopAllThenExit(signal, code));
}

build();
await ensureRedis();
APPS.forEach(serve);
