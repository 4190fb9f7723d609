/**
 * HMAC-SHA256 request signatures between the edge worker and the GPU service. Web Crypto only,
 * so the same code signs in Workers and verifies in Node.
 *
 * Signed string: `v1\n<METHOD>\n<path with query>\n<unix seconds>\n<hex sha256 of the body>`.
 * Headers: `X-HD-Timestamp: <unix seconds>`, `X-HD-Signature: v1=<hex hmac>`.
 */
export const TIMESTAMP_HEADER = "x-hd-timestamp";
export const SIGNATURE_HEADER = "x-hd-signature";
/** Signatures older (or further in the future) than this are refused: replay window. */
export const MAX_SKEW_SECONDS = 300;

const encoder = new TextEncoder();

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(body: Uint8Array | string): Promise<string> {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  return hex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

function hmacKey(secret: string): ReturnType<typeof crypto.subtle.importKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

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
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    encoder.encode(canonical(method, pathAndQuery, ts, await sha256Hex(body))),
  );
  return { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: `v1=${hex(mac)}` };
}

export type VerifyFailure = "missing" | "malformed" | "expired" | "bad-signature";

/**
 * Checks a request's signature. `crypto.subtle.verify` compares in constant time. Returns the
 * reason on failure; replay of a still-fresh signature is the caller's to track (by signature).
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
  const mac = Uint8Array.from(m[1]!.match(/../g)!, (h) => Number.parseInt(h, 16));
  const ok = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    mac,
    encoder.encode(canonical(method, pathAndQuery, ts, await sha256Hex(body))),
  );
  return ok ? { ok: true } : { ok: false, reason: "bad-signature" };
}
