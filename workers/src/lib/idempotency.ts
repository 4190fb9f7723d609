import { sha256Hex } from "#shared/auth/hmac.ts";
import { HybridDepthError } from "#shared/errors.ts";

/** `Idempotency-Key`: absent, or 1–255 visible ASCII characters. */
export function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(header))
    throw new HybridDepthError(
      "INVALID_ARGUMENT",
      "Idempotency-Key: 1–255 visible ASCII characters",
    );
  return header;
}

/**
 * The capture id a create with an Idempotency-Key gets: derived from the principal and the key
 * (a v4-shaped UUID of their sha256), so a retried create finds the capture the first one made
 * without any lookup table.
 */
export async function captureIdForKey(principal: string, key: string): Promise<string> {
  const h = await sha256Hex(`capture-create\n${principal}\n${key}`);
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
