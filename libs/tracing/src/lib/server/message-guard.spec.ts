import { inspectMessage } from './message-guard';

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
});
