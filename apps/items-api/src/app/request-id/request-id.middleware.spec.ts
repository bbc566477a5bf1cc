import type { NextFunction, Request, Response } from 'express';
import { assignRequestId } from './request-id.middleware';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function run(header: string | string[] | undefined): { requestId?: string; echoed?: string } {
  const request = { headers: header === undefined ? {} : { 'x-request-id': header } } as unknown as Request & {
    requestId?: string;
  };
  let echoed: string | undefined;
  const response = { setHeader: (_: string, value: string) => (echoed = value) } as unknown as Response;
  let calledNext = false;
  assignRequestId(request, response, (() => (calledNext = true)) as NextFunction);
  expect(calledNext).toBe(true);
  return { requestId: request.requestId, echoed };
}

describe('assignRequestId', () => {
  it('keeps a sane incoming x-request-id and echoes it', () => {
    expect(run('req-42_a.b')).toEqual({ requestId: 'req-42_a.b', echoed: 'req-42_a.b' });
  });

  it('accepts exactly 128 characters', () => {
    const id = 'a'.repeat(128);
    expect(run(id).requestId).toBe(id);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too long', 'a'.repeat(129)],
    ['with spaces', 'a b'],
    ['with a header injection attempt', 'abc\r\nx-evil: 1'],
    ['repeated', ['a', 'b']],
  ])('replaces a %s request id with a fresh UUID', (_, header) => {
    const { requestId, echoed } = run(header);
    expect(requestId).toMatch(UUID);
    expect(echoed).toBe(requestId);
  });
});
