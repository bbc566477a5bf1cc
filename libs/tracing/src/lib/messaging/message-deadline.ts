/**
 * The moment a message's producer stops waiting, carried with the message: in a Nest packet's `metadata` (pub/sub)
 * or as a field of a stream entry, as milliseconds since the epoch on the producer's clock.
 */
export const DEADLINE_KEY = 'deadline';

/**
 * How far apart the clocks of the producer and of the one that judges lateness (the consumer; Redis for streams) may
 * be: a message is late from `deadline - allowance` on. Hosts synchronized by NTP are within a few milliseconds.
 */
export const DEFAULT_CLOCK_SKEW_ALLOWANCE_MS = 100;

export type DeadlineCheck = { late: false } | { late: true; kind: 'expired' | 'malformed'; reason: string };

/**
 * Whether a message seen at `seenAtMs` (the judge's clock) with the deadline `value` (absent: none) is to be refused:
 * `expired` from `deadline - allowanceMs` on, so that clocks up to `allowanceMs` apart never let it through after its
 * producer gave up; `malformed` when the value is not a time.
 */
export function checkDeadline(value: unknown, seenAtMs: number, allowanceMs: number): DeadlineCheck {
  if (value === undefined) return { late: false };
  const deadline = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof deadline !== 'number' || !Number.isSafeInteger(deadline) || deadline < 0) {
    return { late: true, kind: 'malformed', reason: `deadline ${JSON.stringify(value)?.slice(0, 40)} is not a time in milliseconds` };
  }
  const overdueMs = seenAtMs - (deadline - allowanceMs);
  if (overdueMs <= 0) return { late: false };
  return {
    late: true,
    kind: 'expired',
    reason: `${seenAtMs - deadline} ms after its deadline ${new Date(deadline).toISOString()} (at ${new Date(seenAtMs).toISOString()}, clock skew allowance ${allowanceMs} ms): its producer had given up`,
  };
}
