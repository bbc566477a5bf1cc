import { checkDeadline } from './message-deadline';

describe('checkDeadline', () => {
  const deadline = Date.UTC(2026, 11, 1, 12, 0, 0);

  it.each([
    ['no deadline', undefined, deadline + 60_000, false],
    ['well before it', deadline, deadline - 1000, false],
    ['exactly at deadline − allowance', deadline, deadline - 100, false],
    ['within the allowance before it', deadline, deadline - 99, true],
    ['after it', deadline, deadline + 5, true],
    ['as a string of digits (a stream field)', String(deadline), deadline - 1000, false],
  ])('%s: late = %s', (_, value, seenAt, late) => {
    expect(checkDeadline(value, seenAt, 100).late).toBe(late);
  });

  it('says how late, against which deadline', () => {
    expect(checkDeadline(deadline, deadline + 250, 100)).toEqual({
      late: true,
      kind: 'expired',
      reason: '250 ms after its deadline 2026-12-01T12:00:00.000Z (at 2026-12-01T12:00:00.250Z, clock skew allowance 100 ms): its producer had given up',
    });
  });

  it.each([['soon'], [-1], [1.5], [{}], ['1e12'], [null]])('a deadline %j is malformed', (value) => {
    expect(checkDeadline(value, deadline, 100)).toMatchObject({ late: true, kind: 'malformed' });
  });
});
