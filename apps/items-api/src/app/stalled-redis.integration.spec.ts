/*
 * A Redis that stalls (SIGSTOP: connections stay open, commands wait in its socket) is worse than one that is down:
 * what items-api sent still runs when it resumes. What only a real, frozen redis-server shows is that every endpoint
 * that waits on Redis answers within PUBLISH_TIMEOUT_MS, and that what it sent cannot take effect after its 503: the
 * item event carries the deadline (which redis-consumer enforces) and the tutorial's publish is not run by Redis.
 */
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type RedisTestServer, startRedisTestServer } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import { AppModule } from './app.module';
import { loadConfig } from './config';
import { configureApp } from './configure-app';

const PUBLISH_TIMEOUT_MS = 500;
const json = { 'content-type': 'application/json' };

describe.each(['pubsub', 'streams'] as const)('items-api with Redis stalled (MESSAGING_TRANSPORT=%s)', (transport) => {
  let redis: RedisTestServer;
  let app: NestExpressApplication;
  let baseUrl: string;
  let subscriber: Redis;
  let plain: Redis;
  /** Messages on the tutorial's channel and on item.created (pub/sub), as received. */
  const received: { channel: string; message: string }[] = [];

  beforeAll(async () => {
    redis = await startRedisTestServer({ requirePrivate: true });
    const config = loadConfig({ REDIS_URL: redis.url, PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS), REPLY_TIMEOUT_MS: '200', MESSAGING_TRANSPORT: transport });
    app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), { logger: false });
    configureApp(app);
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/api`;
    subscriber = new Redis(redis.url);
    await subscriber.subscribe('my-channel', 'item.created');
    subscriber.on('message', (channel: string, message: string) => received.push({ channel, message }));
    plain = new Redis(redis.url);
  }, 30_000);

  afterAll(async () => {
    subscriber?.disconnect();
    plain?.disconnect();
    await app?.close();
    await redis?.stop();
  });

  /** The answer's status, and when it arrived (epoch ms, this host's clock: the one items-api's deadline is on). */
  async function timed(path: string, init?: RequestInit): Promise<{ status: number; body: unknown; answeredAt: number; tookMs: number }> {
    const begun = Date.now();
    const response = await fetch(`${baseUrl}${path}`, init);
    const body: unknown = await response.json();
    return { status: response.status, body, answeredAt: Date.now(), tookMs: Date.now() - begun };
  }

  it('GET /api/pub answers 503 within PUBLISH_TIMEOUT_MS; Redis does not publish it when it resumes', async () => {
    await timed('/pub'); // connects the publisher's lazy connection
    const stalled = await redis.stall(() => timed('/pub', { headers: { 'x-request-id': `stalled-${transport}` } }));
    expect(stalled.status).toBe(503);
    expect(stalled.tookMs).toBeLessThan(PUBLISH_TIMEOUT_MS + 500);
    // Commands of one connection run in order: once the next publish is received, the stalled one was judged.
    const after = await timed('/pub', { headers: { 'x-request-id': `after-${transport}` } });
    expect(after.status).toBe(202);
    const next = await waitFor(() => received.find(({ message }) => message.includes(`after-${transport}`)));
    expect(next.channel).toBe('my-channel');
    expect(received.filter(({ message }) => message.includes(`stalled-${transport}`))).toEqual([]);
  });

  it('POST /api/items answers 503 within PUBLISH_TIMEOUT_MS; the event it sent carries a deadline no later than that answer', async () => {
    const stalled = await redis.stall(() =>
      timed('/items', { method: 'POST', headers: { ...json, 'idempotency-key': `stalled-${transport}` }, body: '{"name":"stalled"}' }),
    );
    expect(stalled.status).toBe(503);
    expect(stalled.tookMs).toBeLessThan(PUBLISH_TIMEOUT_MS + 500);
    // What Redis ran once it resumed: the event, with the deadline a consumer enforces.
    const deadline = await waitFor(async () => {
      if (transport === 'pubsub') {
        const packet = received.find(({ channel, message }) => channel === 'item.created' && message.includes('"stalled"'));
        return packet && (JSON.parse(packet.message) as { metadata: { deadline: number } }).metadata.deadline;
      }
      const entries = await plain.xrange('stream:item.created', '-', '+');
      const entry = entries.find(([, fields]) => fields.some((field) => field.includes('"stalled"')));
      return entry && Number(entry[1][entry[1].indexOf('deadline') + 1]);
    });
    expect(deadline).toBeLessThanOrEqual(stalled.answeredAt);
    expect(deadline).toBeGreaterThan(stalled.answeredAt - PUBLISH_TIMEOUT_MS - 500);
  });

  it('POST /api/items with the same Idempotency-Key answers the same id; another key, another id; a bad key 400', async () => {
    const post = (key?: string) =>
      timed('/items', { method: 'POST', headers: { ...json, ...(key !== undefined && { 'idempotency-key': key }) }, body: '{"name":"once"}' });
    const [first, retry, other, none, bad] = await Promise.all([post('key-1'), post('key-1'), post('key-2'), post(), post('a key')]);
    expect([first.status, retry.status, other.status, none.status]).toEqual([202, 202, 202, 202]);
    const idOf = (answer: { body: unknown }) => (answer.body as { id: string }).id;
    expect(idOf(retry)).toBe(idOf(first));
    expect(idOf(first)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(idOf(other)).not.toBe(idOf(first));
    expect(idOf(none)).not.toBe(idOf(first));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/Idempotency-Key must be 1 to 255 visible ASCII characters/);
    expect((await timed(`/items/${idOf(first)}`)).status).not.toBe(400); // a valid id for GET (no consumer here: 504 after REPLY_TIMEOUT_MS)
  });
});

/** Polls until `read` gives something: what Redis delivers to another connection has no event of items-api's. */
async function waitFor<T>(read: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
