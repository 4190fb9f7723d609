/**
 * HMAC-SHA256 request signatures between the edge worker and the GPU service. Web Crypto only,
 * so the same code signs in Workers and verifies in Node.
 *
 * Signed string: `v1\n<METHOD>\n<path with query>\n<unix seconds>\n<hex sha256 of the body>`.
 * Headers: `X-HD-Timestamp: <unix seconds>`, `X-HD-Signature: v1=<hex hmac>`.
 */
import { hmacHex, sha256Hex, verifyHmacHex } from "./hmac.ts";

export { sha256Hex };

export const TIMESTAMP_HEADER = "x-hd-timestamp";
export const SIGNATURE_HEADER = "x-hd-signature";
/** Signatures older (or further in the future) than this are refused: replay window. */
export const MAX_SKEW_SECONDS = 300;

function canonical(
  method: string,
  pathAndQuery: string,
  timestamp: number,
  bodyDigest: string,
): string {
  return `v1\n${method.toUpperCase()}\n${pathAndQuery}\n${timestamp}\n${bodyDigest}`;
}

export interface SignedHeaders {
  [TIMESTAMP_HEADER]: string;
  [SIGNATURE_HEADER]: string;
}

/** Headers that authenticate one request. */
export async function signRequest(
  secret: string,
  method: string,
  pathAndQuery: string,
  body: Uint8Array | string,
  now = Date.now(),
): Promise<SignedHeaders> {
  const ts = Math.floor(now / 1000);
  const mac = await hmacHex(secret, canonical(method, pathAndQuery, ts, await sha256Hex(body)));
  return { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: `v1=${mac}` };
}

export type VerifyFailure = "missing" | "malformed" | "expired" | "bad-signature";

/**
 * Checks a request's signature (constant-time compare). Returns the reason on failure; replay
 * of a still-fresh signature is the caller's to track (by signature).
 */
export async function verifyRequest(
  secret: string,
  method: string,
  pathAndQuery: string,
  body: Uint8Array,
  timestampHeader: string | undefined | null,
  signatureHeader: string | undefined | null,
  now = Date.now(),
): Promise<{ ok: true } | { ok: false; reason: VerifyFailure }> {
  if (!timestampHeader || !signatureHeader) return { ok: false, reason: "missing" };
  const m = /^v1=([0-9a-f]{64})$/.exec(signatureHeader);
  if (!/^\d{1,12}$/.test(timestampHeader) || !m) return { ok: false, reason: "malformed" };
  const ts = Number(timestampHeader);
  if (Math.abs(now / 1000 - ts) > MAX_SKEW_SECONDS) return { ok: false, reason: "expired" };
  const ok = await verifyHmacHex(
    secret,
    canonical(method, pathAndQuery, ts, await sha256Hex(body)),
    m[1]!,
  );
  return ok ? { ok: true } : { ok: false, reason: "bad-signature" };
}
