import { checkGetItemRequest, checkItemCreatedEvent, checkTutorialMessage } from './payload-checks';

const ID = '3f0c9a5e-2b1d-4c8e-9f7a-6d5e4c3b2a19';
const ITEM = { id: ID, name: 'Blue mug', price: 12.5, requestId: 'r-1' };

describe('checkItemCreatedEvent', () => {
  it('accepts what items-api emits, a null price, and leaves unknown fields out', () => {
    expect(checkItemCreatedEvent(ITEM)).toEqual({ valid: true, value: ITEM });
    expect(checkItemCreatedEvent({ ...ITEM, price: null })).toMatchObject({ valid: true });
    expect(checkItemCreatedEvent({ ...ITEM, extra: { nested: true } })).toEqual({ valid: true, value: ITEM });
  });

  it.each([
    ['no id (it wrote the hash item:undefined)', { ...ITEM, id: undefined }, 'id must be a UUID string, got nothing'],
    ['a numeric id', { ...ITEM, id: 42 }, 'id must be a UUID string, got the number 42'],
    ['an id that is not a UUID', { ...ITEM, id: 'x:*' }, 'id must be a UUID, got "x:*"'],
    ['a nested name', { ...ITEM, name: [[['x']]] }, 'name must be a string, got an array'],
    ['an empty name', { ...ITEM, name: '' }, 'name must have 1 to 200 characters, got 0'],
    ['a negative price', { ...ITEM, price: -1 }, 'price must be a number ≥ 0 or null, got the number -1'],
    ['a price as a string', { ...ITEM, price: '1' }, 'price must be a number ≥ 0 or null, got a string'],
    ['an object as requestId', { ...ITEM, requestId: { a: 1 } }, 'requestId must be a string, got an object'],
    ['a requestId over 128 characters', { ...ITEM, requestId: 'r'.repeat(129) }, 'requestId must have 1 to 128 characters, got 129'],
  ])('refuses %s', (_, data, error) => {
    expect(checkItemCreatedEvent(data)).toEqual({ valid: false, errors: [error] });
  });

  it.each([
    ['a string', 'item', 'a string'],
    ['null', null, 'null'],
    ['an array', [ITEM], 'an array'],
    ['nothing', undefined, 'nothing'],
  ])('refuses %s as data', (_, data, shape) => {
    expect(checkItemCreatedEvent(data)).toEqual({ valid: false, errors: [`the payload must be a JSON object, got ${shape}`] });
  });

  it('lists every error at once', () => {
    expect(checkItemCreatedEvent({})).toMatchObject({ valid: false, errors: [expect.any(String), expect.any(String), expect.any(String), expect.any(String)] });
  });
});

describe('checkGetItemRequest', () => {
  it('accepts a UUID id and refuses anything else', () => {
    expect(checkGetItemRequest({ id: ID })).toEqual({ valid: true, value: { id: ID } });
    expect(checkGetItemRequest({ id: ['x'] })).toEqual({ valid: false, errors: ['id must be a UUID string, got an array'] });
    expect(checkGetItemRequest('x')).toMatchObject({ valid: false });
  });
});

describe('checkTutorialMessage', () => {
  it('accepts the tutorial message with its trace-context keys beside it, and refuses a nested message', () => {
    const raw = { message: 'this is my message', request_id: 'r-1', traceparent: '00-…' };
    expect(checkTutorialMessage(raw)).toEqual({ valid: true, value: { message: 'this is my message', request_id: 'r-1' } });
    expect(checkTutorialMessage({ ...raw, message: [[1]] })).toEqual({ valid: false, errors: ['message must be a string, got an array'] });
  });
});
