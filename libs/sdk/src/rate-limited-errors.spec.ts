import { rateLimitedErrors } from './start-tracing';

describe('rateLimitedErrors (the SDK error handler)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  it('logs the first error, counts the next ones within the interval, reports the count with the next line', () => {
    const lines: string[] = [];
    const handle = rateLimitedErrors(60_000, (line) => lines.push(line));
    handle(new Error('14 UNAVAILABLE: No connection established'));
    for (let batch = 0; batch < 11; batch++) {
      jest.advanceTimersByTime(5_000);
      handle(new Error('14 UNAVAILABLE: No connection established'));
    }
    expect(lines).toEqual([
      'OpenTelemetry: 14 UNAVAILABLE: No connection established; the service goes on, spans that cannot be exported are dropped',
    ]);
    jest.advanceTimersByTime(5_000);
    handle('4 DEADLINE_EXCEEDED');
    expect(lines[1]).toBe(
      'OpenTelemetry: 4 DEADLINE_EXCEEDED; the service goes on, spans that cannot be exported are dropped (11 more in the last 60 s)',
    );
  });

  it('describes what is not an Error', () => {
    const lines: string[] = [];
    rateLimitedErrors(1000, (line) => lines.push(line))({ code: 14 } as never);
    expect(lines[0]).toContain('{"code":14}');
  });
});
