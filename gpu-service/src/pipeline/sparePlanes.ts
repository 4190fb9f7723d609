/**
 * Planes a thread's frame work is done with (the unwarped focus of a registered frame, every
 * frame's gray, colours already in the accumulator: floats, or a frame's decoded samples), kept
 * for its next frame instead of being left to the garbage collector: a fresh plane costs its
 * pages' first touch, and on the 2-core VM this was measured on that is 31 ms for 12.8 MB against
 * 0.3 ms to fill it again (README, Performance). A few planes of each size are kept, within a
 * byte budget (oldest out first: jobs of other sizes do not pile up), and all of them go once
 * the thread has had no frame for `SPARE_IDLE_MS`: an idle service holds none.
 */
export const SPARE_IDLE_MS = 1000;
/** Planes kept per kind and length (a frame gives back at most two of one kind and length). */
const PER_SIZE = 2;
/** What a thread holds at most: a 12 MP stack's frame gives back ≈ 125 MB. */
export const SPARE_MAX_BYTES = 160 * 1024 * 1024;

/** The kinds of plane kept: floats, and a frame's decoded 8- or 16-bit samples. */
export type SparePlane = Float32Array | Uint8Array | Uint16Array;
type PlaneKind<T extends SparePlane> = {
  new (length: number): T;
  new (buffer: SharedArrayBuffer): T;
  readonly BYTES_PER_ELEMENT: number;
};

export class SparePlanes {
  /** Oldest first. */
  private held: SparePlane[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly idleMs = SPARE_IDLE_MS,
    private readonly maxBytes = SPARE_MAX_BYTES,
  ) {}

  /** A plane of `length` floats (shared memory or not), dirty when reused: write all of it. */
  take(length: number, shared: boolean): Float32Array {
    return this.takeOf(Float32Array, length, shared);
  }

  /** `take` of another kind of plane (a frame's samples). */
  takeOf<T extends SparePlane>(kind: PlaneKind<T>, length: number, shared: boolean): T {
    for (let i = this.held.length - 1; i >= 0; i--)
      if (sameKind(this.held[i]!, kind, length, shared)) return this.held.splice(i, 1)[0]! as T;
    return shared
      ? new kind(new SharedArrayBuffer(kind.BYTES_PER_ELEMENT * length))
      : new kind(length);
  }

  /** Planes nothing reads any more, for a later `take`. */
  giveBack(...planes: SparePlane[]): void {
    for (const p of planes) {
      // Only whole buffers: a view's buffer may hold other live data.
      if (p.length === 0 || p.byteOffset !== 0 || p.byteLength !== p.buffer.byteLength) continue;
      if (p.byteLength > this.maxBytes || this.held.includes(p)) continue;
      const shared = p.buffer instanceof SharedArrayBuffer;
      const same = this.held.filter((q) => sameKind(q, p.constructor, p.length, shared));
      if (same.length >= PER_SIZE) this.drop(same[0]!);
      this.held.push(p);
      while (this.heldBytes > this.maxBytes) this.held.shift();
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.clear(), this.idleMs);
    this.timer.unref?.();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.held = [];
  }

  /** Bytes held for reuse. */
  get heldBytes(): number {
    return this.held.reduce((b, p) => b + p.byteLength, 0);
  }

  private drop(p: SparePlane): void {
    this.held.splice(this.held.indexOf(p), 1);
  }
}

function sameKind(p: SparePlane, kind: unknown, length: number, shared: boolean): boolean {
  return (
    p.constructor === kind &&
    p.length === length &&
    p.buffer instanceof SharedArrayBuffer === shared
  );
}
