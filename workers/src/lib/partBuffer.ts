/**
 * Cuts a byte stream into parts of exactly `partBytes` for an R2 multipart upload (R2 wants
 * every part but the last the same size, at least 5 MiB). Bytes short of a full part stay
 * pending; the caller persists them and hands them back as `initial` on the next request.
 */
export class PartBuffer {
  private readonly buf: Uint8Array;
  private fill = 0;

  constructor(
    readonly partBytes: number,
    initial?: Uint8Array,
  ) {
    this.buf = new Uint8Array(partBytes);
    if (initial) {
      if (initial.byteLength >= partBytes)
        throw new RangeError("pending bytes must be shorter than a part");
      this.buf.set(initial);
      this.fill = initial.byteLength;
    }
  }

  /** Adds bytes; `onPart` receives each full part (a view reused afterwards: consume it before resolving). */
  async push(chunk: Uint8Array, onPart: (part: Uint8Array) => Promise<void>): Promise<void> {
    let at = 0;
    while (at < chunk.byteLength) {
      const n = Math.min(this.partBytes - this.fill, chunk.byteLength - at);
      this.buf.set(chunk.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      if (this.fill === this.partBytes) {
        await onPart(this.buf);
        this.fill = 0;
      }
    }
  }

  /** The bytes not yet part of a full part. */
  get pending(): Uint8Array {
    return this.buf.subarray(0, this.fill);
  }
}
