/**
 * State the routing path reads without waiting on a store: re-read every `refreshMs` in the
 * background (the timer never keeps the process alive), once before serving. A failed read keeps
 * the last known state; subclasses decide what a refresh reads and what a failure reports.
 */
export abstract class PeriodicRefresh {
  private timer: NodeJS.Timeout | undefined;

  protected constructor(private readonly refreshMs: number) {}

  abstract refresh(): Promise<void>;

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }
}
