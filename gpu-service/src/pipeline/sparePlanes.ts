/**
 * Planes a thread's frame work is done with (the decoded colour and the unwarped focus of a
 * registered frame, every frame's gray), kept for its next frame instead of being left to the
 * garbage collector: a fresh plane costs its pages' first touch, and on the 2-core VM this was
 * measured on that is 31 ms for 12.8 MB against 0.3 ms to fill it again (README, Performance).
 * A few planes of each size are kept, and all of them go once the thread has had no frame for
 * `SPARE_IDLE_MS`: an idle service holds none.
 */
export const SPARE_IDLE_MS = 1000;
/** Planes kept per kind and length (a frame gives back at most one of each). */
const PER_SIZE = 2;

export class SparePlanes {
  private readonly free = new Map<string, Float32Array[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly idleMs = SPARE_IDLE_MS) {}

  /** A plane of `length` floats (shared memory or not), dirty when reused: write all of it. */
  take(length: number, shared: boolean): Float32Array {
    const kept = this.free.get(key(length, shared))?.pop();
    if (kept) return kept;
    return shared ? new Float32Array(new SharedArrayBuffer(4 * length)) : new Float32Array(length);
  }

  /** Planes nothing reads any more, for a later `take`. */
  giveBack(...planes: Float32Array[]): void {
    for (const p of planes) {
      // Only whole buffers: a view's buffer may hold other live data.
      if (p.length === 0 || p.byteOffset !== 0 || p.byteLength !== p.buffer.byteLength) continue;
      const k = key(p.length, p.buffer instanceof SharedArrayBuffer);
      const list = this.free.get(k) ?? [];
      if (list.length < PER_SIZE && !list.includes(p)) list.push(p);
      this.free.set(k, list);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.clear(), this.idleMs);
    this.timer.unref?.();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.free.clear();
  }

  /** Bytes held for reuse. */
  get heldBytes(): number {
    let b = 0;
    for (const list of this.free.values()) for (const p of list) b += p.byteLength;
    return b;
  }
}

const key = (length: number, shared: boolean) => `${shared ? "s" : "p"}${length}`;
