/**
 * Writes a line of each kind at most once per interval: the first at once, the next ones counted and reported with
 * the following line ("… (41 more in the last 60 s)"). For what can repeat at the rate of the traffic — failed
 * publishes during an outage, refused messages, failed exports — so that a fault does not become a log storm.
 */
export class RateLimitedLog {
  private readonly kinds = new Map<string, { writtenAt: number; suppressed: number }>();

  constructor(
    private readonly output: (line: string) => void,
    private readonly intervalMs = 60_000,
  ) {}

  write(kind: string, line: string): void {
    const now = Date.now();
    const state = this.kinds.get(kind);
    if (state && now - state.writtenAt < this.intervalMs) {
      state.suppressed++;
      return;
    }
    const more = state?.suppressed ? ` (${state.suppressed} more in the last ${Math.round((now - state.writtenAt) / 1000)} s)` : '';
    this.kinds.set(kind, { writtenAt: now, suppressed: 0 });
    this.output(`${line}${more}`);
  }
}
