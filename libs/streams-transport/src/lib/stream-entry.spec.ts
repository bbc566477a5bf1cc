import { readEntry } from './stream-entry';

const fields = (data: string, extra: string[] = []) => ['pattern', 'item.created', 'data', data, ...extra];

describe('readEntry', () => {
  it('reads the pattern, the parsed data and the trace context', () => {
    const read = readEntry(fields('{"id":"1"}', ['traceparent', 'tp']), 1024, 32);
    expect(read).toMatchObject({ message: { pattern: 'item.created', data: { id: '1' }, carrier: { traceparent: 'tp' } } });
  });

  it.each([
    ['plain', (deep: string) => `{"id":"1","name":${deep}}`],
    ['beside a prototype key (the reviver path)', (deep: string) => `{"prototype":1,"name":${deep}}`],
  ])('refuses data nested thousands of levels deep (%s) as too-deep, without overflowing the stack', (_, wrap) => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(readEntry(fields(wrap(deep)), 1024 * 1024, 32)).toEqual({ accepted: false, kind: 'too-deep', reason: 'data nested deeper than 31 levels (32 with the entry)' });
  });

  it('counts the entry as level 1, as the envelope of a pub/sub packet is: the same payload passes or not on both', () => {
    expect(readEntry(fields('{"a":[[1]]}'), 1024, 4)).toMatchObject({ message: { data: { a: [[1]] } } });
    expect(readEntry(fields('{"a":[[[1]]]}'), 1024, 4)).toMatchObject({ kind: 'too-deep' });
  });

  it.each([
    ['malformed', null],
    ['malformed', ['pattern']],
    ['malformed', ['data', '{}']],
    ['not-json', fields('{"id":')],
    ['prototype-key', fields('{"__proto__":{"polluted":true}}')],
    ['too-large', fields(`"${'x'.repeat(2000)}"`)],
  ])('refuses %s entries', (kind, entry) => {
    expect(readEntry(entry, 1024, 32)).toMatchObject({ kind, reason: expect.any(String) });
  });
});
