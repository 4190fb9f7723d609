/**
 * HMAC-SHA256 request signatures between the edge worker and the GPU service. Web Crypto only,
 * so the same code signs in Workers and verifies in Node.
 *
 * Signed string: `v2\n<METHOD>\n<path with query>\n<unix seconds>\n<Content-Type>\n<hex sha256
 * of the body>`. Content-Type is covered because it tells the server how to read the body (a
 * multipart boundary changes which bytes are which part). Headers: `X-HD-Timestamp: <unix
 * seconds>`, `X-HD-Signature: v2=<hex hmac>`.
 */
import { hmacHex, sha256Hex, verifyHmacHex } from "./hmac.ts";

export { sha256Hex };

export const TIMESTAMP_HEADER = "x-hd-timestamp";
export const SIGNATURE_HEADER = "x-hd-signature";
/**
 * Signatures older (or further in the future) than this are refused: the replay window. Short,
 * since the replay guard is per process; what a replay could still do is bounded by the GPU
 * service's idempotency by job id.
 */
export const MAX_SKEW_SECONDS = 60;

/** What a signature covers besides the timestamp. */
export interface SignedRequest {
  method: string;
  /** Path with query, as sent. */
  path: string;
  /** The Content-Type header as sent; absent counts as empty. */
  contentType?: string | null;
}

function canonical(req: SignedRequest, timestamp: number, bodyDigest: string): string {
  const type = (req.contentType ?? "").trim();
  return `v2\n${req.method.toUpperCase()}\n${req.path}\n${timestamp}\n${type}\n${bodyDigest}`;
}

export interface SignedHeaders {
  [TIMESTAMP_HEADER]: string;
  [SIGNATURE_HEADER]: string;
}

/** Headers that authenticate one request (send `contentType` as the Content-Type header). */
export async function signRequest(
  secret: string,
  req: SignedRequest & { body?: Uint8Array | string },
  now = Date.now(),
): Promise<SignedHeaders> {
  const ts = Math.floor(now / 1000);
  const mac = await hmacHex(secret, canonical(req, ts, await sha256Hex(req.body ?? "")));
  return { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: `v2=${mac}` };
}

export type VerifyFailure = "missing" | "malformed" | "expired" | "bad-signature";

/** The parsed signature headers of a request whose body is still unread. */
export interface SignatureClaim {
  timestamp: number;
  mac: string;
}

/**
 * Checks what can be checked before reading the body: both headers present, well formed, and
 * fresh. A server calls this first so that an unsigned request costs it no body bytes.
 */
export function checkSignatureHeaders(
  timestampHeader: string | undefined | null,
  signatureHeader: string | undefined | null,
  now = Date.now(),
): { ok: true; claim: SignatureClaim } | { ok: false; reason: VerifyFailure } {
  if (!timestampHeader || !signatureHeader) return { ok: false, reason: "missing" };
  const m = /^v2=([0-9a-f]{64})$/.exec(signatureHeader);
  if (!/^\d{1,12}$/.test(timestampHeader) || !m) return { ok: false, reason: "malformed" };
  const ts = Number(timestampHeader);
  if (Math.abs(now / 1000 - ts) > MAX_SKEW_SECONDS) return { ok: false, reason: "expired" };
  return { ok: true, claim: { timestamp: ts, mac: m[1]! } };
}

/**
 * Checks the MAC (constant-time compare) once the body's sha256 is known (hashed while it
 * streamed in). Replay of a still-fresh signature is the caller's to track (by signature).
 */
export async function verifySignedRequest(
  secret: string,
  req: SignedRequest,
  bodySha256Hex: string,
  claim: SignatureClaim,
): Promise<boolean> {
  return verifyHmacHex(secret, canonical(req, claim.timestamp, bodySha256Hex), claim.mac);
}

/** Both steps at once, for a body already in memory. */
export async function verifyRequest(
  secret: string,
  req: SignedRequest,
  body: Uint8Array | string,
  timestampHeader: string | undefined | null,
  signatureHeader: string | undefined | null,
  now = Date.now(),
): Promise<{ ok: true } | { ok: false; reason: VerifyFailure }> {
  const headers = checkSignatureHeaders(timestampHeader, signatureHeader, now);
  if (!headers.ok) return headers;
  const ok = await verifySignedRequest(secret, req, await sha256Hex(body), headers.claim);
  return ok ? { ok: true } : { ok: false, reason: "bad-signature" };
}
