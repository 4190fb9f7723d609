import { HybridDepthError } from "#shared/errors.ts";

/**
 * Admission control: at most `maxInFlight` jobs run, at most `maxQueue` wait (FIFO); beyond
 * that a job is refused at once (`overloaded`) instead of growing memory.
 */
export class JobGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private idle: (() => void)[] = [];

  constructor(
    private readonly maxInFlight: number,
    private readonly maxQueue: number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxInFlight) {
      if (this.waiting.length >= this.maxQueue) {
        throw new HybridDepthError(
          "OVERLOADED",
          `${this.running} jobs running and ${this.waiting.length} queued; retry later`,
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes straight to the next job
      else {
        this.running--;
        if (this.running === 0) for (const f of this.idle.splice(0)) f();
      }
    }
  }

  /** Resolves once nothing runs or waits. */
  drained(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
