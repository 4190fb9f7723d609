import { createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import {
  checkSignatureHeaders,
  MAX_SKEW_SECONDS,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifySignedRequest,
} from "#shared/auth/requestSignature.ts";
import { HybridDepthError } from "#shared/errors.ts";
import { readBody } from "../readBody.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The request body, read (and its signature checked) by verifySignature. */
    body: Uint8Array;
  }
}

const REASONS = {
  missing: "request is not signed (X-HD-Timestamp and X-HD-Signature required)",
  malformed: "malformed signature headers",
  expired: `signature timestamp is more than ${MAX_SKEW_SECONDS} s away from now`,
  "bad-signature": "signature does not match",
  replayed: "signature was already used (replay)",
} as const;

/**
 * Requires an HMAC-SHA256 signature of method, path, timestamp, Content-Type and body digest
 * made with the shared secret; each signature is accepted once within its freshness window (no
 * replay). The headers are checked before any body byte is read, and the body is hashed while
 * it streams in, under `limitOf(path)` bytes; it is then `c.get("body")`. Without a secret (dev
 * mode) every request passes, its body still read under the limit.
 */
export function verifySignature(
  secret: string | undefined,
  limitOf: (path: string) => number,
): MiddlewareHandler {
  const seen = new Map<string, number>(); // MAC → when it stops being fresh (ms)
  return async function verifySignature(c, next) {
    const url = new URL(c.req.url);
    const headers = secret
      ? checkSignatureHeaders(c.req.header(TIMESTAMP_HEADER), c.req.header(SIGNATURE_HEADER))
      : undefined;
    if (headers && !headers.ok) throw new HybridDepthError("UNAUTHORIZED", REASONS[headers.reason]);
    const hash = createHash("sha256");
    const body = await readBody(c.req.raw, limitOf(url.pathname), url.pathname, (chunk) =>
      hash.update(chunk),
    );
    if (secret && headers?.ok) {
      const request = {
        method: c.req.method,
        path: url.pathname + url.search,
        contentType: c.req.header("content-type"),
      };
      if (!(await verifySignedRequest(secret, request, hash.digest("hex"), headers.claim)))
        throw new HybridDepthError("UNAUTHORIZED", REASONS["bad-signature"]);
      const now = Date.now();
      for (const [k, until] of seen) if (until < now) seen.delete(k);
      if (seen.has(headers.claim.mac)) throw new HybridDepthError("UNAUTHORIZED", REASONS.replayed);
      seen.set(headers.claim.mac, now + 2 * MAX_SKEW_SECONDS * 1000);
    }
    c.set("body", body);
    return next();
  };
}
