import { toHex } from "#shared/auth/hmac.ts";

/**
 * A pass-through stream that hashes every byte (SHA-256), counts them and keeps the first 8
 * (for magic-byte sniffing), so a frame is verified while it streams, never buffered whole.
 */
export function frameInspector(expectedBytes?: number) {
  let head = new Uint8Array(0);
  let bytes = 0;
  const digest = new crypto.DigestStream("SHA-256");
  const writer = digest.getWriter();
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, ctl) {
      if (head.length < 8) {
        const next = new Uint8Array(Math.min(8, head.length + chunk.byteLength));
        next.set(head);
        next.set(chunk.subarray(0, next.length - head.length), head.length);
        head = next;
      }
      bytes += chunk.byteLength;
      if (expectedBytes !== undefined && bytes > expectedBytes)
        throw new RangeError(`more than ${expectedBytes} bytes`);
      await writer.write(chunk);
      ctl.enqueue(chunk);
    },
    // Erroring (rather than closing short) keeps a sink like FixedLengthStream from half-committing.
    flush() {
      if (expectedBytes !== undefined && bytes !== expectedBytes)
        throw new RangeError(`${bytes} of ${expectedBytes} bytes`);
    },
  });
  return {
    stream,
    /** The stream failed: release the digest without a result. */
    abort(): void {
      writer.abort().catch(() => undefined);
      // The digest's promise rejects with the abort: nobody awaits it now, so mark it handled.
      digest.digest.catch(() => undefined);
    },
    /** After the stream ended: the digest, the byte count and the first bytes. */
    async result(): Promise<{ sha256: string; bytes: number; head: Uint8Array }> {
      await writer.close();
      return { sha256: toHex(await digest.digest), bytes, head };
    },
  };
}
