import { RateLimitedLog } from './rate-limited-log';

describe('RateLimitedLog', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  it('writes each kind once per interval, and the count of the others with the next line of that kind', () => {
    const lines: string[] = [];
    const log = new RateLimitedLog((line) => lines.push(line), 10_000);
    for (let second = 0; second < 25; second++) {
      log.write('publish', `publish failed at ${second} s`);
      if (second % 5 === 0) log.write('get', `get failed at ${second} s`);
      jest.advanceTimersByTime(1000);
    }
    expect(lines).toEqual([
      'publish failed at 0 s',
      'get failed at 0 s',
      'publish failed at 10 s (9 more in the last 10 s)',
      'get failed at 10 s (1 more in the last 10 s)',
      'publish failed at 20 s (9 more in the last 10 s)',
      'get failed at 20 s (1 more in the last 10 s)',
    ]);
  });
});
