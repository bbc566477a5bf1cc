/*
 * items-api is the internet-facing edge: hostile bodies and headers must get a clear 4xx, never a 500, and must not
 * reach any prototype. The app runs in this process (as main.ts configures it) so that the test can look at
 * Object.prototype after each request; Redis is a private redis-server.
 */
import type { AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type RedisTestServer, startRedisTestServer } from '@nest-redis-otel/testing';
import { AppModule } from './app.module';
import { loadConfig } from './config';
import { configureApp } from './configure-app';

const json = { 'content-type': 'application/json' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('items-api against bad HTTP input', () => {
  let redis: RedisTestServer;
  let app: NestExpressApplication;
  let baseUrl: string;

  beforeAll(async () => {
    redis = await startRedisTestServer();
    app = await NestFactory.create<NestExpressApplication>(AppModule.register(loadConfig({ REDIS_URL: redis.url })), {
      logger: false,
    });
    configureApp(app);
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/api`;
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  afterEach(() => {
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it.each([
    ['truncated JSON', '{"name": ', /JSON/],
    ['null', 'null', /JSON/],
    ['an array', '[{"name":"a"}]', /should not exist|name must be a string/],
    ['a wrong type and a negative price', '{"name":5,"price":-1}', /name must be a string.*price must not be less than 0/],
    ['an empty name', '{"name":""}', /name must be longer than or equal to 1/],
    ['a 201-character name', JSON.stringify({ name: 'x'.repeat(201) }), /shorter than or equal to 200/],
    ['an unknown field', '{"name":"a","admin":true}', /property admin should not exist/],
    ['a NaN-like price', '{"name":"a","price":"NaN"}', /price must be a number/],
    ['__proto__', '{"name":"a","__proto__":{"polluted":true}}', /"__proto__" keys are not accepted/],
    ['a nested __proto__', '{"name":"a","x":{"__proto__":{"polluted":true}}}', /"__proto__" keys are not accepted/],
    ['an escaped __proto__', '{"name":"a","\\u005f_proto__":{"polluted":true}}', /"__proto__" keys are not accepted/],
    ['constructor.prototype', '{"name":"a","constructor":{"prototype":{"polluted":true}}}', /"constructor.prototype" keys/],
  ])('POST /api/items with %s: 400 with the reason', async (_, body, message) => {
    const response = await fetch(`${baseUrl}/items`, { method: 'POST', headers: json, body });
    const answer = (await response.json()) as { statusCode: number; message: string | string[] };
    expect(response.status).toBe(400);
    expect([answer.message].flat().join('; ')).toMatch(message);
  });

  it.each([
    ['a lone high surrogate in the name', '{"name":"\\ud800"}'],
    ['a lone low surrogate in the name', '{"name":"a\\udc00b"}'],
    ['a reversed surrogate pair', '{"name":"\\udc00\\ud800"}'],
    ['a lone surrogate in a key', '{"name":"a","\\ud800":1}'],
  ])('POST /api/items with %s: 400 saying the text is not well-formed Unicode (never stored as U+FFFD)', async (_, body) => {
    const response = await fetch(`${baseUrl}/items`, { method: 'POST', headers: json, body });
    const answer = (await response.json()) as { message: string };
    expect(response.status).toBe(400);
    expect(answer.message).toMatch(/not well-formed Unicode \(a lone surrogate\)/);
  });

  it('a name with a surrogate pair (an emoji) written as escapes is fine: 202', async () => {
    const response = await fetch(`${baseUrl}/items`, { method: 'POST', headers: json, body: '{"name":"mug \\ud83c\\udf75"}' });
    expect(response.status).toBe(202);
  });

  it.each([
    ['arrays', (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`],
    ['objects', (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`],
    ['a deep value beside a valid item', (depth: number) => `{"name":"a","x":${'['.repeat(depth)}${']'.repeat(depth)}}`],
  ])('a body of %s nested thousands deep: 400 saying so, no internal detail', async (_, nest) => {
    for (const depth of [5000, 100_000]) {
      const response = await fetch(`${baseUrl}/items`, { method: 'POST', headers: json, body: nest(depth).slice(0, 16 * 1024) });
      const answer = (await response.json()) as { message: string };
      expect(response.status).toBe(400);
      expect(answer.message).toMatch(/nested deeper than \d+ levels/);
      expect(answer.message).not.toMatch(/stack|Maximum call/i);
    }
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
  });

  it('a body nested a little (as the W3C tracecontext harness nests its arguments) is read as usual', async () => {
    const response = await fetch(`${baseUrl}/items`, { method: 'POST', headers: json, body: `{"name":"a","x":${'['.repeat(20)}${']'.repeat(20)}}` });
    const answer = (await response.json()) as { message: string[] };
    expect(response.status).toBe(400);
    expect(answer.message).toEqual(['property x should not exist']);
  });

  it('a body over 16 KiB: 413', async () => {
    const response = await fetch(`${baseUrl}/items`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'a', padding: 'x'.repeat(17 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('x-request-id')).toMatch(UUID);
  });

  it.each(['{"name": "a",', '{"name":"\\ud800"}', '[1', `{"a":${'['.repeat(100)}${']'.repeat(100)}}`])(
    'refused by the body parser (%s): the response still carries x-request-id, the caller\'s when sane',
    async (body) => {
      const generated = await fetch(`${baseUrl}/items`, { method: 'POST', headers: json, body });
      expect(generated.status).toBe(400);
      expect(generated.headers.get('x-request-id')).toMatch(UUID);
      const echoed = await fetch(`${baseUrl}/items`, { method: 'POST', headers: { ...json, 'x-request-id': 'caller-42' }, body });
      expect(echoed.headers.get('x-request-id')).toBe('caller-42');
    },
  );

  it('a body that is not JSON: 400 with the field errors, not 500', async () => {
    const response = await fetch(`${baseUrl}/items`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(response.status).toBe(400);
  });

  it.each(['/items/not-a-uuid', '/items/%E0%A4%A', '/items/%'])('GET %s: 400', async (path) => {
    expect((await fetch(`${baseUrl}${path}`)).status).toBe(400);
  });

  it('a header set over 16 KiB is refused by the HTTP server (431), which keeps serving', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = httpRequest(`${baseUrl}/health`, { headers: { 'x-filler': 'a'.repeat(17 * 1024) } }, (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      request.on('error', reject);
      request.end();
    });
    expect(status).toBe(431);
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
  });

  it('a valid item after all that: 202', async () => {
    const response = await fetch(`${baseUrl}/items`, { method: 'POST', headers: json, body: '{"name":"still fine","price":0}' });
    expect(response.status).toBe(202);
  });
});
