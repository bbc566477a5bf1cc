/*
 * OpenTelemetry's TraceState follows the Level 1 key grammar and drops the members it cannot read one by one, keeping
 * the rest; the W3C test suite at STRICT_LEVEL=2 (w3c/trace-context at acab820, test/test.py) wants the editor's
 * draft grammar (`@` anywhere in a key but first), a tracestate that breaks it discarded as a whole, and a duplicated
 * key kept once. The cases below are the suite's tracestate cases, with several headers joined as Node joins them.
 */
import { isWellFormedTraceState, parseTraceState } from './tracestate-header';

/** Several `tracestate` header lines, as Node's HTTP parser hands them over: one string joined with ", ". */
const joined = (...lines: string[]) => lines.join(', ');

const KEY_WITHOUT_VENDOR = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
const KEY_WITH_VENDOR = `${KEY_WITHOUT_VENDOR}@a-z0-9_-*/`;
const ALL_VALUE_CHARACTERS = [
  [0x20, 0x2b],
  [0x2d, 0x3c],
  [0x3e, 0x7e],
]
  .map(([from, to]) => Array.from({ length: to - from + 1 }, (_, index) => String.fromCharCode(from + index)).join(''))
  .join('');
const members = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, index) => String(from + index).padStart(2, '0'))
    .map((n) => `bar${n}=${n}`)
    .join(',');

describe('isWellFormedTraceState (W3C Trace Context, editor\'s draft grammar, tracestate)', () => {
  it.each([
    ['one member', 'foo=1'],
    ['two members', 'foo=1,bar=2'],
    ['several headers with different keys', joined('foo=1,bar=2', 'rojo=1,congo=2', 'baz=3')],
    ['an empty header beside a valid one', joined('foo=1', '')],
    ['OWS around the commas', 'foo=1 \t , \t bar=2, \t baz=3'],
    ['tabs and spaces around the commas', 'foo=1\t \t,\t \tbar=2,\t \tbaz=3'],
    ['leading OWS', ' \tfoo=1'],
    ['trailing OWS', 'foo=1 \t'],
    ['empty list members', 'foo=1,,bar=2, ,'],
    ['every character a simple key may hold', `${KEY_WITHOUT_VENDOR}=1`],
    ['every character a multi-tenant key may hold', `${KEY_WITH_VENDOR}=1`],
    ['every character a value may hold', `foo=${ALL_VALUE_CHARACTERS}`],
    ['a value that starts with a space', 'foo= 1'],
    ['a value of 256 characters', `foo=${'v'.repeat(256)}`],
    ['a key of 256 characters', joined('foo=1', `${'z'.repeat(256)}=1`)],
    ['a tenant id of 241 characters and a system id of 14', joined('foo=1', `${'t'.repeat(241)}@${'v'.repeat(14)}=1`)],
    ['a tenant id that starts with a digit', '0tenant@vendor=1'],
    ['a tenant id of 242 characters and a system id of 1', joined('foo=1', `${'t'.repeat(242)}@v=1`)],
    ['a system id of 15 characters', joined('foo=1', `t@${'v'.repeat(15)}=1`)],
    ['a key that ends with @', 'foo@=1,bar=2'],
    ['two @ in a row', 'foo@@bar=1,bar=2'],
    ['two @', 'foo@bar@baz=1,bar=2'],
    ['a system id that starts with a digit', 'foo@1bar=1'],
    ['a key that starts with a digit', '1foo=1'],
    ['a duplicated key', 'foo=1,foo=1'],
    ['a duplicated key with another value', 'foo=1,foo=2'],
    ['a key duplicated across headers', joined('foo=1', 'foo=2')],
    ['32 members over four headers', joined(members(1, 10), members(11, 20), members(21, 30), members(31, 32))],
  ])('accepts %s', (_, header) => {
    expect(isWellFormedTraceState(header)).toBe(true);
  });

  it.each([
    ['33 members over four headers', joined(members(1, 10), members(11, 20), members(21, 30), members(31, 33))],
    ['a key of 257 characters', joined('foo=1', `${'z'.repeat(257)}=1`)],
    ['a space in a key', 'foo =1'],
    ['an upper-case key', 'FOO=1'],
    ['a dot in a key', 'foo.bar=1'],
    ['a key that starts with @', '@foo=1,bar=2'],
    ['a key of 257 characters with an @', joined('foo=1', `${'t'.repeat(243)}@${'v'.repeat(13)}=1`)],
    ['a member without =', 'foo=1,bar'],
    ['an empty key', '=1'],
    ['an empty value', 'foo=,bar=2'],
    ['an = in a value', 'foo=a=b'],
    ['a value of 257 characters', `foo=${'v'.repeat(257)}`],
    ['a tab in a value', 'foo=a\tb'],
    ['a control character in a value', 'foo=a\u0001b'],
    ['a DEL in a value', 'foo=a\u007fb'],
    ['a non-ASCII value', 'foo=café'],
    ['a line break between members', 'foo=1,\nbar=2'],
    ['a serialisation over 512 characters', `a=${'x'.repeat(254)},b=${'y'.repeat(254)}`],
  ])('refuses %s', (_, header) => {
    expect(isWellFormedTraceState(header)).toBe(false);
  });

  it('counts the 512 characters without the OWS around the commas', () => {
    const longest = `a=${'x'.repeat(254)},b=${'y'.repeat(253)}`;
    expect(longest).toHaveLength(512);
    expect(isWellFormedTraceState(longest.replace(',', ' \t, \t'))).toBe(true);
  });

  it('refuses an empty or blank header (nothing to propagate)', () => {
    expect(isWellFormedTraceState('')).toBe(false);
    expect(isWellFormedTraceState(' , ')).toBe(false);
  });
});

describe('parseTraceState (what the propagated context carries)', () => {
  it('keeps a duplicated key once, the first, in list order', () => {
    expect(parseTraceState('foo=1,bar=2,foo=3')?.serialize()).toBe('foo=1,bar=2');
  });

  it('keeps the keys OpenTelemetry\'s Level 1 TraceState would drop', () => {
    const traceState = parseTraceState(`foo@=1,${'t'.repeat(242)}@v=2`);
    expect(traceState?.get('foo@')).toBe('1');
    expect(traceState?.get(`${'t'.repeat(242)}@v`)).toBe('2');
  });

  it('set moves the key to the front and keeps at most 32 members; unset removes it; a bad member is not set', () => {
    const full = parseTraceState(Array.from({ length: 32 }, (_, index) => `k${index}=${index}`).join(','));
    const updated = full?.set('k5', 'five').set('new', 'n');
    expect(updated?.serialize().split(',').slice(0, 2)).toEqual(['new=n', 'k5=five']);
    expect(updated?.serialize().split(',')).toHaveLength(32);
    expect(updated?.unset('k5').get('k5')).toBeUndefined();
    expect(full?.set('Bad Key', '1')).toBe(full);
  });
});
