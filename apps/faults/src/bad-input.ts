import { randomUUID } from 'node:crypto';
import { serveStack } from '@nest-redis-otel/testing';
import { Redis } from 'ioredis';
import type { Figure } from './figures';
import { isStored, until } from './probes';

const CHANNEL = 'item.created';
const DEAD_LETTERS = 'redis-consumer:dead-letters';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

/** A valid `item.created` packet whose `metadata` is `metadata`. */
function packet(metadata: unknown): { id: string; raw: string } {
  const id = randomUUID();
  return { id, raw: JSON.stringify({ pattern: CHANNEL, data: { id, name: 'bad context', price: 1, requestId: 'faults' }, metadata }) };
}

/** An `item.created` packet whose data is `data`, written as it is (JSON text). */
const itemCreated = (data: string) => `{"pattern":"${CHANNEL}","data":${data}}`;
const validFields = (id: string) => `"id":"${id}","price":1,"requestId":"faults"`;

/**
 * Messages that must be refused, each followed by a valid one that must be stored: [case, message, the dead letter's
 * kind].
 */
const BAD_MESSAGES: [string, string, string][] = [
  ['not JSON', 'this is not json', 'not-json'],
  ['truncated JSON', '{"pattern":"item.created","data":{"id":', 'not-json'],
  ['null', 'null', 'not-an-object'],
  ['a top-level array', '[1,2,3]', 'not-an-object'],
  ['a top-level number', '42', 'not-an-object'],
  ['an unknown pattern', JSON.stringify({ pattern: 'item.deleted', data: {} }), 'unknown-pattern'],
  ['over the 1 MiB cap', JSON.stringify({ pattern: CHANNEL, data: { blob: 'x'.repeat(1024 * 1024) } }), 'too-large'],
  ['a __proto__ key', '{"pattern":"item.created","data":{"__proto__":{"polluted":true}}}', 'prototype-key'],
  ['a constructor.prototype key', '{"pattern":"item.created","data":{"constructor":{"prototype":{"polluted":true}}}}', 'prototype-key'],
  ['name nested 5000 levels (10 kB)', itemCreated(`{${validFields(randomUUID())},"name":${'['.repeat(5000)}${']'.repeat(5000)}}`), 'too-deep'],
  ['an item without id', JSON.stringify({ pattern: CHANNEL, data: { name: 'no id', price: 1, requestId: 'faults' } }), 'invalid-payload'],
  ['an item id that is not a UUID', JSON.stringify({ pattern: CHANNEL, data: { id: 'item:1', name: 'bad id', price: 1, requestId: 'faults' } }), 'invalid-payload'],
  ['data that is a string', JSON.stringify({ pattern: CHANNEL, data: 'an item' }), 'invalid-payload'],
  ['data that is null', JSON.stringify({ pattern: CHANNEL, data: null }), 'invalid-payload'],
  ['a price that is a string', JSON.stringify({ pattern: CHANNEL, data: { id: randomUUID(), name: 'x', price: '1', requestId: 'faults' } }), 'invalid-payload'],
  ['a name nested 20 levels (under the depth cap)', itemCreated(`{${validFields(randomUUID())},"name":${'['.repeat(20)}${']'.repeat(20)}}`), 'invalid-payload'],
];

/** Trace contexts that must give a new root span: the message itself is valid and must be stored. */
const BAD_CONTEXTS: [string, unknown][] = [
  ['traceparent version ff', { traceparent: `ff-${TRACE}-${SPAN}-01` }],
  ['all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${SPAN}-01` }],
  ['all-zero parent id', { traceparent: `00-${TRACE}-${'0'.repeat(16)}-01` }],
  ['short trace id', { traceparent: `00-${TRACE.slice(1)}-${SPAN}-01` }],
  ['long parent id', { traceparent: `00-${TRACE}-${SPAN}0-01` }],
  ['uppercase hex', { traceparent: `00-${TRACE.toUpperCase()}-${SPAN}-01` }],
  ['illegal hex', { traceparent: `00-${TRACE.slice(0, 31)}g-${SPAN}-01` }],
  ['trailing garbage on version 00', { traceparent: `00-${TRACE}-${SPAN}-01-extra` }],
  ['duplicated (array)', { traceparent: [`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01`] }],
  ['a number', { traceparent: 42 }],
  ['an object', { traceparent: { value: `00-${TRACE}-${SPAN}-01` } }],
  ['empty', { traceparent: '' }],
  ['a 10 kB string', { traceparent: 'a'.repeat(10_000) }],
  ['tracestate over 512 characters', { traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: `k=${'v'.repeat(600)}` }],
  ['tracestate of 40 members', { traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(',') }],
  ['baggage over 8192 bytes', { traceparent: `00-${TRACE}-${SPAN}-01`, baggage: `k=${'v'.repeat(9000)}` }],
  ['baggage of 200 members', { baggage: Array.from({ length: 200 }, (_, i) => `k${i}=v`).join(',') }],
  ['a 1 MB baggage string', { baggage: 'k=v,'.repeat(250_000) }],
  ['baggage keys __proto__ and constructor', { baggage: '__proto__=x,constructor=y' }],
  ['metadata that is a string', 'traceparent'],
  ['metadata that is an array', [`00-${TRACE}-${SPAN}-01`]],
];

/** Each bad case against the served redis-consumer: the case passes when it is refused or handled as it must be. */
export async function badInput(): Promise<{ figures: Figure[]; failures: string[] }> {
  const stack = await serveStack({ requirePrivateRedis: true });
  const redis = new Redis(stack.redis.url);
  const failures: string[] = [];
  try {
    for (const [name, raw, kind] of BAD_MESSAGES) {
      const before = await redis.llen(DEAD_LETTERS);
      await redis.publish(CHANNEL, raw);
      const next = packet(undefined);
      await redis.publish(CHANNEL, next.raw);
      const stored = (await until(() => isStored(redis, next.id), 5000)) !== undefined;
      await until(async () => (await redis.llen(DEAD_LETTERS)) > before, 1000);
      const letters = await redis.lrange(DEAD_LETTERS, 0, -1);
      const refusedAs = letters.length === before + 1 ? (JSON.parse(letters[0]) as { kind?: string }).kind : undefined;
      if (!stored || refusedAs !== kind) {
        failures.push(`message ${name}: ${refusedAs === kind ? '' : `dead-lettered as ${refusedAs ?? 'nothing'}, not ${kind}; `}${stored ? '' : 'next valid message not stored'}`);
      }
    }
    for (const [name, metadata] of BAD_CONTEXTS) {
      const message = packet(metadata);
      await redis.publish(CHANNEL, message.raw);
      if ((await until(() => isStored(redis, message.id), 5000)) === undefined) failures.push(`context ${name}: not handled`);
    }
    if (stack.consumer.process.exitCode !== null) failures.push('redis-consumer exited');
    const total = BAD_MESSAGES.length + BAD_CONTEXTS.length;
    const passed = total - failures.length;
    return {
      figures: [
        {
          scenario: 'bad input (served redis-consumer)',
          name: `malformed or invalid messages (${BAD_MESSAGES.length}, each dead-lettered with its kind) and trace contexts (${BAD_CONTEXTS.length}) handled as required`,
          value: `${passed} / ${total}`,
          goal: `${total} / ${total}`,
          pass: passed === total,
        },
      ],
      failures,
    };
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}
