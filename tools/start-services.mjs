#!/usr/bin/env node
// `npm start`: runs items-api and redis-consumer with `nx serve`, after making sure a Redis answers at REDIS_URL
// (default redis://localhost:6379). When none does and the URL is local, starts a throwaway `redis-server` (no
// persistence) for as long as this command runs; otherwise says how to get one.
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';

const redisUrl = parseRedisUrl(process.env.REDIS_URL || 'redis://localhost:6379');
const host = redisUrl.hostname.replace(/^\[|\]$/g, '') || 'localhost';
const port = Number(redisUrl.port || 6379);
const children = [];

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
  if (!parsed || /@/.test(parsed.pathname + parsed.search + parsed.hash)) {
    console.error(
      'REDIS_URL is not a valid URL (not shown: it may hold a password). Expected redis://[user:password@]host[:port][/db];\n' +
        'percent-encode "/", "?", "#", "@" and "%" in the user or password (as %2F, %3F, %23, %40, %25).',
    );
    process.exit(1);
  }
  return parsed;
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
    console.error(
      `No Redis answers at ${host}:${port}. Start one, e.g.:\n` +
        '  sudo apt-get install redis-server   (Debian/Ubuntu), then: redis-server\n' +
        '  docker run --rm -p 6379:6379 redis:7\n' +
        'or set REDIS_URL to a Redis you can use.',
    );
    process.exit(1);
  }
  console.log(`No Redis at ${host}:${port}: starting redis-server (no persistence) for this session`);
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  children.push(redis);
  for (let attempt = 0; attempt < 50 && !(await answers(host, port)); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function stopAll(signal) {
  for (const child of children.reverse()) {
    if (child.exitCode === null) child.kill(signal);
  }
}

await ensureRedis();
const services = spawn('npx', ['nx', 'run-many', '-t', 'serve', '-p', 'items-api', 'redis-consumer', '--parallel', '2'], {
  stdio: 'inherit',
  env: process.env,
});
children.push(services);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stopAll(signal));
services.on('exit', (code) => {
  stopAll('SIGTERM');
  process.exit(code ?? 0);
});
