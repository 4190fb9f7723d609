import { HybridDepthError } from "#shared/errors.ts";

/**
 * A request body read from its stream under a byte limit: refused on Content-Length before a
 * byte is read, else as soon as the bytes received pass the limit (the rest is never read).
 * `onChunk` sees each chunk as it arrives (hashing while streaming).
 */
export async function readBody(
  req: Request,
  limit: number,
  what: string,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<Uint8Array> {
  const tooLarge = (n: string) =>
    new HybridDepthError("PAYLOAD_TOO_LARGE", `${what}: body of ${n} bytes is over ${limit}`);
  const header = req.headers.get("content-length");
  const declared = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  if (declared !== undefined && declared > limit) throw tooLarge(String(declared));
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  // One allocation when the length is declared; chunks joined at the end otherwise.
  const whole = declared !== undefined ? new Uint8Array(declared) : undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (received + value.byteLength > (declared ?? limit)) {
      await reader.cancel().catch(() => undefined);
      throw declared !== undefined
        ? new HybridDepthError("LENGTH_MISMATCH", `${what}: body longer than its Content-Length`)
        : tooLarge(`more than ${limit}`);
    }
    onChunk?.(value);
    if (whole) whole.set(value, received);
    else chunks.push(value);
    received += value.byteLength;
  }
  if (whole) {
    if (received !== declared)
      throw new HybridDepthError(
        "LENGTH_MISMATCH",
        `${what}: body shorter than its Content-Length`,
      );
    return whole;
  }
  const out = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
