/*
 * Why this suite exists: docker/redis-acl.conf gives each service a Redis user restricted to the commands, keys and
 * channels it needs. Whether that is enough cannot be read off the code: Nest's transports and ioredis send commands
 * of their own (INFO, SUBSCRIBE, MULTI …). This suite renders that very file, starts a private redis-server with it,
 * runs both built apps each with its own user, in both transports, and checks that an item goes through and comes
 * back, that neither app is refused anything, and that each user is refused what the other one does.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  OtlpTraceReceiver,
  type RedisTestServer,
  type ServedApp,
  findFreePort,
  serveBuiltApp,
  startRedisTestServer,
  waitUntil,
} from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { WORKSPACE_ROOT } from './served-app';

/** Base64-like, with "/" "+" "=": what `openssl rand -base64` gives, and what must be percent-encoded in a URL. */
const PASSWORDS: Record<string, string> = {
  ITEMS_API_REDIS_PASSWORD: 'itemsApi/Pw+x=',
  REDIS_CONSUMER_REDIS_PASSWORD: 'consumer/Pw+y=',
};
const ITEMS_API = { user: 'items-api', password: PASSWORDS['ITEMS_API_REDIS_PASSWORD'] };
const REDIS_CONSUMER = { user: 'redis-consumer', password: PASSWORDS['REDIS_CONSUMER_REDIS_PASSWORD'] };
/** The suite's own user, added to the rendered file only: to look at what the apps wrote. */
const ADMIN = { user: 'e2e-admin', password: 'e2e-admin-password' };
const NOPERM = /NOPERM/;
/** A refusal, also from inside a script, which Redis 7.0 answers with `ERR The user executing the script can't …`. */
const REFUSED = /NOPERM|The user executing the script can't/;

/** Starts a private redis-server with docker/redis-acl.conf, its placeholders replaced by PASSWORDS. */
async function startRedisWithAclUsers(): Promise<{ redis: RedisTestServer; removeUsersFile(): void }> {
  const folder = mkdtempSync(join(tmpdir(), 'redis-acl-'));
  const template = readFileSync(join(WORKSPACE_ROOT, 'docker', 'redis-acl.conf'), 'utf8');
  const rendered = template.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const password = PASSWORDS[name];
    if (password === undefined) throw new Error(`docker/redis-acl.conf: no test password for \${${name}}`);
    return password;
  });
  const usersFile = join(folder, 'users.conf');
  writeFileSync(usersFile, `${rendered}\nuser ${ADMIN.user} on >${ADMIN.password} ~* &* +@all\n`, { mode: 0o600 });
  const redis = await startRedisTestServer({ requirePrivate: true, serverArgs: ['--include', usersFile] });
  return { redis, removeUsersFile: () => rmSync(folder, { recursive: true, force: true }) };
}

const urlFor = (redis: RedisTestServer, { user, password }: { user: string; password: string }) =>
  `redis://${user}:${encodeURIComponent(password)}@127.0.0.1:${redis.port}`;

/** The error Redis answers `command` with for `as`, or undefined when it runs. */
async function refusal(redis: RedisTestServer, as: { user: string; password: string } | undefined, ...command: string[]): Promise<string | undefined> {
  const client = new Redis({ port: redis.port, host: '127.0.0.1', ...(as && { username: as.user, password: as.password }), lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    await client.call(command[0], ...command.slice(1));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.disconnect();
  }
}

/** The kind of the last dead letter: redis-consumer's list (pubsub), or the dead-letter stream (streams). */
async function newestDeadLetterKind(admin: Redis, transport: string): Promise<string | undefined> {
  if (transport === 'pubsub') return (JSON.parse((await admin.lindex('redis-consumer:dead-letters', 0)) ?? '{}') as { kind?: string }).kind;
  const [[, fields] = ['', []]] = await admin.xrevrange('stream:dead-letters', '+', '-', 'COUNT', 1);
  return fields[fields.indexOf('kind') + 1];
}

describe.each(['pubsub', 'streams'])('Redis ACL users of docker/redis-acl.conf, MESSAGING_TRANSPORT=%s', (transport) => {
  let redis: RedisTestServer;
  let removeUsersFile: () => void;
  let receiver: OtlpTraceReceiver;
  let consumer: ServedApp;
  let api: ServedApp;
  let baseUrl: string;
  let consumerHealthUrl: string;

  beforeAll(async () => {
    ({ redis, removeUsersFile } = await startRedisWithAclUsers());
    receiver = await OtlpTraceReceiver.start();
    const [port, healthPort] = [await findFreePort(), await findFreePort()];
    const common = { MESSAGING_TRANSPORT: transport, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint };
    consumer = await serveBuiltApp(
      'redis-consumer',
      { ...common, REDIS_URL: urlFor(redis, REDIS_CONSUMER), HEALTH_PORT: String(healthPort) },
      'redis-consumer subscribed',
    );
    api = await serveBuiltApp('items-api', { ...common, REDIS_URL: urlFor(redis, ITEMS_API), PORT: String(port) }, 'items-api listening');
    baseUrl = `http://127.0.0.1:${port}/api`;
    consumerHealthUrl = `http://127.0.0.1:${healthPort}/health`;
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), consumer?.stop()]);
    await Promise.all([receiver?.stop(), redis?.stop()]);
    removeUsersFile?.();
  });

  it('each app works with its own user: an item is accepted, stored and read back (item.created, item.get request/reply)', async () => {
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
    expect((await fetch(consumerHealthUrl)).status).toBe(200);

    const created = await fetch(`${baseUrl}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'least privilege', price: 2 }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    await consumer.waitForLine((line) => line.includes(id), { timeoutMs: 10_000 });

    const read = await fetch(`${baseUrl}/items/${id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id, name: 'least privilege', price: 2 });
    expect((await fetch(`${baseUrl}/items/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await fetch(`${baseUrl}/pub`)).status).toBe(202);
  });

  it("a message nested 5000 levels deep, sent with items-api's password, is dead-lettered with redis-consumer's user", async () => {
    const deadLetters = transport === 'pubsub' ? 'redis-consumer:dead-letters' : 'stream:dead-letters';
    const [admin, notifications, attacker] = [urlFor(redis, ADMIN), urlFor(redis, ADMIN), urlFor(redis, ITEMS_API)].map((url) => new Redis(url));
    try {
      await admin.config('SET', 'notify-keyspace-events', 'Klt');
      await notifications.subscribe(`__keyspace@0__:${deadLetters}`);
      let writes = 0;
      notifications.on('message', () => writes++);
      const data = `{"id":"${crypto.randomUUID()}","name":${'['.repeat(5000)}${']'.repeat(5000)},"price":1,"requestId":"acl"}`;
      if (transport === 'pubsub') await attacker.publish('item.created', `{"pattern":"item.created","data":${data}}`);
      else await attacker.xadd('stream:item.created', '*', 'pattern', 'item.created', 'data', data);

      await waitUntil(notifications, 'message', () => writes > 0, {
        timeoutMs: 10_000,
        what: `a dead letter in ${deadLetters}`,
        describeState: () => consumer.lines.slice(-5).join('\n  '),
      });
      expect(await newestDeadLetterKind(admin, transport)).toBe('too-deep');
      expect(consumer.process.exitCode).toBeNull();
      expect((await fetch(consumerHealthUrl)).status).toBe(200);
    } finally {
      for (const client of [admin, notifications, attacker]) client.disconnect();
    }
  });

  it('neither app was refused anything on the way', () => {
    for (const app of [consumer, api]) expect(app.lines.filter((line) => REFUSED.test(line))).toEqual([]);
  });

  it('what the apps send only on rarer paths is allowed too: a ticket deleted on a timeout, a reply pushed by script', async () => {
    const list = `reply:{${crypto.randomUUID()}}`;
    const ticket = `${list}:${crypto.randomUUID()}`;
    expect(await refusal(redis, ITEMS_API, 'SET', ticket, '1', 'PX', '60000')).toBeUndefined();
    expect(await refusal(redis, ITEMS_API, 'DEL', ticket)).toBeUndefined();
    expect(await refusal(redis, ITEMS_API, 'SET', ticket, '1', 'PX', '60000')).toBeUndefined();
    // The server's PUSH_REPLY_SCRIPT (libs/streams-transport), by another text: what counts is the commands and keys.
    const pushReply = "if redis.call('DEL', KEYS[2]) == 0 then return 0 end redis.call('LPUSH', KEYS[1], ARGV[1]) redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1";
    expect(await refusal(redis, REDIS_CONSUMER, 'EVAL', pushReply, '2', list, ticket, '{}', '60000')).toBeUndefined();
    expect(await refusal(redis, ITEMS_API, 'BRPOP', list, '1')).toBeUndefined();
  });

  it.each([
    ['write an item', ['HSET', 'item:x', 'name', 'forged']],
    ['read an item', ['HGETALL', 'item:x']],
    ['answer a request (pubsub)', ['PUBLISH', 'item.get.reply', '{}']],
    ['listen to the events', ['SUBSCRIBE', 'item.created']],
    ['answer a request (streams)', ['LPUSH', 'reply:{00000000-0000-0000-0000-000000000000}', '{}']],
    ['read a stream', ['XRANGE', 'stream:item.created', '-', '+']],
    ['write a dead letter', ['XADD', 'stream:dead-letters', '*', 'a', '1']],
    ['overwrite a reply list (SET reply:{<uuid>})', ['SET', 'reply:{00000000-0000-0000-0000-000000000000}', 'x']],
    ['write an item from a script (ACLs hold inside EVAL)', ['EVAL', "return redis.call('HSET', 'item:x', 'name', 'forged')", '0']],
    ['answer a request from a script', ['EVAL', "return redis.call('LPUSH', KEYS[1], '{}')", '1', 'reply:00000000-0000-0000-0000-000000000000']],
    ['list the keys', ['KEYS', '*']],
    ['flush the database', ['FLUSHALL']],
    ['change the configuration', ['CONFIG', 'SET', 'maxmemory', '1']],
  ])("items-api's user cannot %s", async (_, command) => {
    expect(await refusal(redis, ITEMS_API, ...command)).toMatch(REFUSED);
  });

  it.each([
    ['publish an event (pubsub)', ['PUBLISH', 'item.created', '{}']],
    ['publish a request (pubsub)', ['PUBLISH', 'item.get', '{}']],
    ['add an event to a stream', ['XADD', 'stream:item.created', '*', 'a', '1']],
    ['listen to the replies', ['SUBSCRIBE', 'item.get.reply']],
    ['read a reply list', ['BRPOP', 'reply:00000000-0000-0000-0000-000000000000', '1']],
    ['touch a key of another service', ['SET', 'session:1', 'x']],
    ['set a reply ticket', ['SET', 'reply:00000000-0000-0000-0000-000000000000:1', '1']],
    ['read a reply list from a script (ACLs hold inside EVAL)', ['EVAL', "return redis.call('LRANGE', KEYS[1], 0, -1)", '1', 'reply:00000000-0000-0000-0000-000000000000']],
    ['publish an event from a script', ['EVAL', "return redis.call('PUBLISH', 'item.created', '{}')", '0']],
    ['run a script on a key outside its patterns', ['EVAL', 'return 1', '1', 'session:1']],
    ['list the keys', ['KEYS', '*']],
    ['flush the database', ['FLUSHALL']],
    ['change the configuration', ['CONFIG', 'SET', 'maxmemory', '1']],
  ])("redis-consumer's user cannot %s", async (_, command) => {
    expect(await refusal(redis, REDIS_CONSUMER, ...command)).toMatch(REFUSED);
  });

  it('a connection without a user may PING (a health check) and nothing else', async () => {
    expect(await refusal(redis, undefined, 'PING')).toBeUndefined();
    expect(await refusal(redis, undefined, 'GET', 'item:x')).toMatch(NOPERM);
    expect(await refusal(redis, undefined, 'PUBLISH', 'item.created', '{}')).toMatch(NOPERM);
  });

  it('a wrong password is refused', async () => {
    expect(await refusal(redis, undefined, 'AUTH', 'items-api', 'guess')).toMatch(/WRONGPASS/);
    expect(await refusal(redis, undefined, 'AUTH', ITEMS_API.user, ITEMS_API.password)).toBeUndefined();
  });
});
