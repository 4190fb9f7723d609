import type { MiddlewareHandler } from "hono";
import {
  MAX_SKEW_SECONDS,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyRequest,
} from "#shared/auth/requestSignature.ts";
import { HybridDepthError } from "#shared/errors.ts";

const REASONS = {
  missing: "request is not signed (X-HD-Timestamp and X-HD-Signature required)",
  malformed: "malformed signature headers",
  expired: `signature timestamp is more than ${MAX_SKEW_SECONDS} s away from now`,
  "bad-signature": "signature does not match",
  replayed: "signature was already used (replay)",
} as const;

/**
 * Requires an HMAC-SHA256 signature of method, path, timestamp and body digest made with the
 * shared secret; each signature is accepted once within its freshness window (no replay).
 * Without a secret (dev mode) every request passes.
 */
export function verifySignature(secret: string | undefined): MiddlewareHandler {
  const seen = new Map<string, number>(); // signature → when it stops being fresh (ms)
  return async function verifySignature(c, next) {
    if (!secret) return next();
    const body = new Uint8Array(await c.req.arrayBuffer());
    const url = new URL(c.req.url);
    const sig = c.req.header(SIGNATURE_HEADER);
    const r = await verifyRequest(
      secret,
      c.req.method,
      url.pathname + url.search,
      body,
      c.req.header(TIMESTAMP_HEADER),
      sig,
    );
    if (!r.ok) throw new HybridDepthError("UNAUTHORIZED", REASONS[r.reason]);
    const now = Date.now();
    for (const [k, until] of seen) if (until < now) seen.delete(k);
    if (seen.has(sig!)) throw new HybridDepthError("UNAUTHORIZED", REASONS.replayed);
    seen.set(sig!, now + 2 * MAX_SKEW_SECONDS * 1000);
    return next();
  };
}
