import { BadRequestException, type ArgumentMetadata } from '@nestjs/common';
import { ParseItemIdPipe } from './parse-item-id.pipe';

const PARAM: ArgumentMetadata = { type: 'param', data: 'id' };
const ID = '3f2b8c1e-5d4a-4e6f-9a7b-0c1d2e3f4a5b';

describe('ParseItemIdPipe (the id of GET /api/items/:id)', () => {
  it('gives ids in lower case: UUIDs are case-insensitive on input (RFC 9562), and items are stored under lower case', async () => {
    for (const written of [ID, ID.toUpperCase(), '3F2b8C1e-5D4a-4E6f-9A7b-0C1d2E3f4A5b']) {
      await expect(new ParseItemIdPipe().transform(written, PARAM)).resolves.toBe(ID);
    }
  });

  it.each(['not-a-uuid', `${ID}x`, ` ${ID}`, '', 'İ'.repeat(36)])('refuses %j with 400', async (value) => {
    await expect(new ParseItemIdPipe().transform(value, PARAM)).rejects.toBeInstanceOf(BadRequestException);
  });
});
