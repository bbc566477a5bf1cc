/** Prints what the demo is doing, one line per step with how long it took; a spinner when writing to a terminal. */
export class Progress {
  private readonly frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly interactive = Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'],
  ) {}

  /** Runs `work`, showing `label` while it runs and `✓ label — <detail>` (or `✗ label`) when it is done. */
  async step<T>(label: string, work: () => Promise<T>, detail?: (result: T) => string): Promise<T> {
    const started = performance.now();
    let frame = 0;
    const timer = this.interactive
      ? setInterval(() => this.out.write(`\r${this.frames[frame++ % this.frames.length]} ${label}…`), 80)
      : undefined;
    if (!this.interactive) this.out.write(`… ${label}\n`);
    try {
      const result = await work();
      const took = `${Math.round(performance.now() - started)} ms`;
      this.finish(`✓ ${label}${detail ? ` — ${detail(result)}` : ''} (${took})`);
      return result;
    } catch (error) {
      this.finish(`✗ ${label}`);
      throw error;
    } finally {
      clearInterval(timer);
    }
  }

  line(text = ''): void {
    this.out.write(`${text}\n`);
  }

  private finish(text: string): void {
    this.out.write(this.interactive ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }
}
