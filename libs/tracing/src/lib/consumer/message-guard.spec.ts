import { DEFAULT_MAX_MESSAGE_DEPTH, exceedsJsonDepth, inspectMessage } from './message-guard';

/** `levels` arrays nested in one another, around `inner`. */
const nested = (levels: number, inner = '1') => '['.repeat(levels) + inner + ']'.repeat(levels);

describe('inspectMessage', () => {
  it('accepts a Nest packet on its own channel and a raw JSON object, parsed', () => {
    expect(inspectMessage('{"pattern":"item.created","data":{"id":"1"}}', 'item.created')).toEqual({
      accepted: true,
      message: { pattern: 'item.created', data: { id: '1' } },
    });
    expect(inspectMessage('{"message":"hi","traceparent":"00-…"}', 'my-channel')).toMatchObject({ accepted: true });
  });

  it.each([
    ['not JSON', 'this is not json', 'not-json'],
    ['truncated JSON', '{"pattern":"item.created","data":{"id":', 'not-json'],
    ['empty', '', 'not-json'],
    ['null', 'null', 'not-an-object'],
    ['an array', '[{"pattern":"item.created"}]', 'not-an-object'],
    ['a number', '42', 'not-an-object'],
    ['a string', '"item.created"', 'not-an-object'],
    ['another pattern', '{"pattern":"item.deleted","data":{}}', 'unknown-pattern'],
    ['a non-string pattern', '{"pattern":{"cmd":"x"},"data":{}}', 'unknown-pattern'],
    ['__proto__ in data', '{"pattern":"item.created","data":{"__proto__":{"polluted":true}}}', 'prototype-key'],
    ['__proto__ at the top', '{"__proto__":{"polluted":true}}', 'prototype-key'],
    ['constructor.prototype', '{"data":{"constructor":{"prototype":{"polluted":true}}}}', 'prototype-key'],
    ['an escaped __proto__', '{"data":{"\\u005f\\u005fproto__":{"polluted":true}}}', 'prototype-key'],
  ])('refuses %s as %s', (_, raw, kind) => {
    const inspection = inspectMessage(raw, 'item.created');
    expect(inspection).toMatchObject({ accepted: false, kind, reason: expect.any(String) });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('lets a plain "constructor" or "prototype" field through: only the pair can reach a prototype', () => {
    expect(inspectMessage('{"data":{"constructor":"Item","prototype":"v1"}}', 'c')).toMatchObject({ accepted: true });
  });

  it('refuses a message over the cap in bytes, counting multi-byte characters as such', () => {
    expect(inspectMessage(`{"d":"${'x'.repeat(100)}"}`, 'c', 100)).toMatchObject({
      accepted: false,
      kind: 'too-large',
      reason: 'message of 108 bytes exceeds the cap of 100',
    });
    const accents = `{"d":"${'é'.repeat(40)}"}`; // 48 characters, 88 bytes
    expect(inspectMessage(accents, 'c', 88)).toMatchObject({ accepted: true });
    expect(inspectMessage(accents, 'c', 87)).toMatchObject({ accepted: false, kind: 'too-large' });
  });

  it('does not compare patterns when the channel is unknown (wildcard subscriptions)', () => {
    expect(inspectMessage('{"pattern":"items.created","data":{}}', undefined)).toMatchObject({ accepted: true });
  });

  it.each([
    ['in data', (deep: string) => `{"pattern":"item.created","data":{"id":"1","name":${deep}}}`],
    ['at the top of a raw message', (deep: string) => `{"message":${deep}}`],
    ['with a prototype key beside it (the reviver path)', (deep: string) => `{"data":{"prototype":1,"name":${deep}}}`],
  ])('refuses JSON nested thousands of levels deep %s as too-deep, without overflowing the stack', (_, wrap) => {
    const raw = wrap(nested(100_000));
    expect(inspectMessage(raw, 'item.created')).toMatchObject({
      accepted: false,
      kind: 'too-deep',
      reason: `JSON nested deeper than ${DEFAULT_MAX_MESSAGE_DEPTH} levels`,
    });
  });

  it('accepts nesting up to the cap, counting the envelope as a level, and refuses one level more', () => {
    // The envelope object is level 1: `nested(3)` inside it reaches level 4.
    expect(inspectMessage(`{"d":${nested(3)}}`, 'c', undefined, 4)).toMatchObject({ accepted: true });
    expect(inspectMessage(`{"d":${nested(4)}}`, 'c', undefined, 4)).toMatchObject({ accepted: false, kind: 'too-deep' });
  });
});

describe('exceedsJsonDepth', () => {
  it.each([
    ['brackets inside strings do not count', '{"a":"[[[[[[{{{{{{"}', 1, false],
    ['escaped quotes do not end a string', '{"a":"\\"[[[[[[\\\\"}', 1, false],
    ['an escaped backslash before the closing quote ends it', '{"a":"\\\\","b":[[1]]}', 2, true],
    ['siblings do not add up', '[[1],[2],[3],{"a":{}},[]]', 3, false],
    ['a scalar has no depth', '"just a string"', 0, false],
    ['objects and arrays both count', '{"a":[{"b":[1]}]}', 3, true],
  ])('%s', (_, json, maxDepth, exceeds) => {
    expect(exceedsJsonDepth(json, maxDepth)).toBe(exceeds);
  });

  it('scans a depth of a million without recursion', () => {
    expect(exceedsJsonDepth(nested(1_000_000), 32)).toBe(true);
    expect(exceedsJsonDepth(nested(32), 32)).toBe(false);
  });
});
