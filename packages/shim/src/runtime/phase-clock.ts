/**
 * Wall time between named steps of one operation, for the log line that ends it: where a pod's create
 * spends its time (VM boot, rootfs share, guest CreateContainer) without a profiler.
 */
export class PhaseClock {
  private readonly started = performance.now();
  private last = this.started;
  private readonly phases: Record<string, number> = {};

  /** Records the time since the previous mark (or the start) under `name`. */
  mark(name: string): void {
    const now = performance.now();
    this.phases[name] = Math.round(now - this.last);
    this.last = now;
  }

  /** The marked phases and the total, in ms. */
  done(): Record<string, number> {
    return { ...this.phases, totalMs: Math.round(performance.now() - this.started) };
  }
}
