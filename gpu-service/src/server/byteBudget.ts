/**
 * A service-wide budget of bytes held for frames between their download and their decode.
 * Reservations wait (FIFO) while the budget is spent, so jobs slow down instead of growing memory.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  constructor(readonly total: number) {}

  get reserved(): number {
    return this.used;
  }

  /** Resolves once `bytes` (at most the total) are reserved; release them through the handle. */
  async acquire(bytes: number): Promise<Reservation> {
    const n = Math.min(bytes, this.total);
    if (this.waiting.length > 0 || this.used + n > this.total)
      await new Promise<void>((grant) => this.waiting.push({ bytes: n, grant }));
    else this.used += n;
    return new Reservation(this, n);
  }

  /** @internal */
  give(bytes: number): void {
    this.used -= bytes;
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.total) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.grant();
    }
  }
}

export class Reservation {
  constructor(
    private readonly budget: ByteBudget,
    private bytes: number,
  ) {}

  /** Keeps only `bytes` of the reservation (once the real size is known). */
  shrink(bytes: number): void {
    const keep = Math.max(0, Math.min(bytes, this.bytes));
    this.budget.give(this.bytes - keep);
    this.bytes = keep;
  }

  release(): void {
    this.shrink(0);
  }
}
