import { type Context, Hono } from "hono";
import { HybridDepthError } from "#shared/errors.ts";
import { MAX_SIGNED_PUT_BYTES } from "#shared/service/uploadSchema.ts";
import type { AppEnv } from "../env.ts";
import { admitFrame } from "../lib/admitFrame.ts";
import { captureStub } from "../lib/captures.ts";
import { frameInspector } from "../lib/frameInspector.ts";
import { frameKey } from "../lib/r2Keys.ts";
import { frameClaims, type UrlCheck, verifyUrl } from "../lib/signedUrl.ts";
import { spendRequest } from "../middleware/rateLimit.ts";

const URL_ERRORS: Record<Exclude<UrlCheck, "ok">, HybridDepthError> = {
  missing: new HybridDepthError(
    "URL_SIGNATURE_INVALID",
    "URL is not signed (exp and sig required)",
  ),
  "bad-signature": new HybridDepthError("URL_SIGNATURE_INVALID"),
  expired: new HybridDepthError("URL_EXPIRED"),
};

/**
 * Looks up the frame a signed URL names, checks the signature against what was declared, and
 * spends one request of the capture's rate limit.
 */
async function signedFrame(c: Context<AppEnv, "/:id/:index">, method: "PUT" | "GET") {
  const id = c.req.param("id");
  const index = Number(c.req.param("index"));
  const record = await captureStub(c.env, id).get();
  const frame = record && Number.isInteger(index) ? record.meta.frames[index] : undefined;
  // Unknown capture or frame: the same answer as a bad signature, so URLs cannot be probed.
  if (!record || !frame) throw URL_ERRORS["bad-signature"];
  const url = new URL(c.req.url);
  // The path signed is the one requested, exactly.
  const claims = { ...frameClaims(method, id, index, frame), path: url.pathname };
  const check = await verifyUrl(c.env.UPLOAD_SIGNING_KEY, url, claims);
  if (check !== "ok") throw URL_ERRORS[check];
  // Per capture, counted only once the signature holds: no one without its URLs spends its budget.
  await spendRequest(c, c.env.SIGNED_RATE_LIMIT, `capture:${id}`, "this capture's signed URLs");
  return { id, index, record, frame };
}

/**
 * Signed-URL upload of one frame (no other credentials), and the signed download the GPU service
 * uses. The body streams into R2 while its sha256 is computed; its length must be exactly the
 * declared one and its first bytes must be the declared image type.
 */
export const frameRoutes = new Hono<AppEnv>()
  .put("/v1/uploads/:id/:index", async (c) => {
    const { id, index, record, frame } = await signedFrame(c, "PUT");
    if (record.state !== "uploading") throw new HybridDepthError("CAPTURE_NOT_UPLOADING");
    const declaredType = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (declaredType !== frame.contentType)
      throw new HybridDepthError(
        "CONTENT_TYPE_MISMATCH",
        `Content-Type must be ${frame.contentType}, as declared`,
      );
    const length = c.req.header("content-length");
    if (length === undefined) throw new HybridDepthError("LENGTH_REQUIRED");
    if (frame.bytes > MAX_SIGNED_PUT_BYTES)
      throw new HybridDepthError(
        "PAYLOAD_TOO_LARGE",
        `frames over ${MAX_SIGNED_PUT_BYTES} bytes go through tus (/v1/tus)`,
      );
    if (Number(length) !== frame.bytes)
      throw new HybridDepthError(
        "LENGTH_MISMATCH",
        `Content-Length ${length} differs from the declared ${frame.bytes} bytes`,
      );
    const body = c.req.raw.body;
    if (!body) throw new HybridDepthError("LENGTH_MISMATCH", "empty body");

    // Stream: hash and sniff while counting to exactly `bytes` (FixedLengthStream refuses more or less).
    const inspector = frameInspector(frame.bytes);
    const fixed = new FixedLengthStream(frame.bytes);
    // This upload's own object: a refused or cut-off body never touches the accepted frame.
    const key = frameKey(id, index, crypto.randomUUID());
    const [piped, stored] = await Promise.allSettled([
      body.pipeThrough(inspector.stream).pipeTo(fixed.writable),
      c.env.BUCKET.put(key, fixed.readable, { httpMetadata: { contentType: frame.contentType } }),
    ]);
    if (piped.status === "rejected" || stored.status === "rejected") {
      inspector.abort();
      await c.env.BUCKET.delete(key);
      throw new HybridDepthError(
        "LENGTH_MISMATCH",
        `body ended before the declared ${frame.bytes} bytes, or ran past them`,
      );
    }
    const inspected = await inspector.result();
    await admitFrame(
      c.env,
      { key, captureId: id, index, contentType: frame.contentType },
      inspected,
    );
    return c.json({ index, bytes: inspected.bytes, sha256: inspected.sha256 }, 201);
  })
  .get("/v1/frames/:id/:index", async (c) => {
    const { index, record, frame } = await signedFrame(c, "GET");
    const key = record.frames[index]?.key;
    const obj = key ? await c.env.BUCKET.get(key) : null;
    if (!obj) throw new HybridDepthError("FRAME_MISSING", `frame ${index} is not stored`);
    return new Response(obj.body, {
      headers: {
        "content-type": frame.contentType,
        "content-length": String(obj.size),
        etag: obj.httpEtag,
      },
    });
  });
