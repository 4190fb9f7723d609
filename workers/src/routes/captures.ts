import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { sha256Hex } from "#shared/auth/hmac.ts";
import { describeIssues } from "#shared/capture/parse.ts";
import { HybridDepthError } from "#shared/errors.ts";
import { CreateCaptureSchema } from "#shared/service/uploadSchema.ts";
import type { AppEnv } from "../env.ts";
import { releaseCaptureStorage } from "../lib/captureStorage.ts";
import { captureStub, ownedCapture } from "../lib/captures.ts";
import { currentPrior } from "../lib/gpuService.ts";
import { captureIdForKey, idempotencyKey } from "../lib/idempotency.ts";
import { quotaStub, reserveCapture } from "../lib/quota.ts";
import { RESULT_FILES } from "../lib/r2Keys.ts";
import { frameClaims, signUrl } from "../lib/signedUrl.ts";

/** Capture metadata is small: 64 frames of a few fields each. */
const MAX_METADATA_BYTES = 64 * 1024;

export const captureRoutes = new Hono<AppEnv>()
  .post(
    "/v1/captures",
    bodyLimit({
      maxSize: MAX_METADATA_BYTES,
      onError: () => {
        throw new HybridDepthError(
          "PAYLOAD_TOO_LARGE",
          `capture metadata is limited to ${MAX_METADATA_BYTES} bytes`,
        );
      },
    }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new HybridDepthError("INVALID_CAPTURE", "body is not valid JSON");
      }
      const parsed = CreateCaptureSchema.safeParse(body);
      if (!parsed.success)
        throw new HybridDepthError("INVALID_CAPTURE", describeIssues(parsed.error));
      const meta = parsed.data;
      // With an Idempotency-Key a retried create answers with the capture the first one made.
      const key = idempotencyKey(c.req.header("idempotency-key"));
      const principal = c.get("principal");
      const id = key ? await captureIdForKey(principal, key) : crypto.randomUUID();
      const origin = new URL(c.req.url).origin;
      const requestDigest = await sha256Hex(JSON.stringify(meta));
      // The quota first (a retried create holds nothing more), so no capture exists past it.
      await reserveCapture(c.env, principal, id, meta);
      const existing = await captureStub(c.env, id)
        .createOnce({
          id,
          owner: principal,
          origin,
          meta,
          frames: meta.frames.map(() => null),
          state: "uploading",
          attempts: 0,
          idempotent: {},
          requestDigest,
        })
        .catch(async (e) => {
          await quotaStub(c.env, principal).release(id);
          throw e;
        });
      if (existing && existing.requestDigest !== requestDigest)
        throw new HybridDepthError("IDEMPOTENCY_KEY_REUSED");
      if (existing && existing.state !== "uploading")
        return c.json(
          { id, state: existing.state, uploads: [], tus: { endpoint: `${origin}/v1/tus` } },
          200,
        );
      const expiresAt = Date.now() + Number(c.env.UPLOAD_URL_TTL_SECONDS) * 1000;
      const uploads = await Promise.all(
        meta.frames.map(async (f, index) => ({
          index,
          method: "PUT" as const,
          url: await signUrl(
            c.env.UPLOAD_SIGNING_KEY,
            origin,
            frameClaims("PUT", id, index, f),
            expiresAt,
          ),
          headers: { "content-type": f.contentType, "content-length": String(f.bytes) },
          expiresAt: new Date(expiresAt).toISOString(),
        })),
      );
      return c.json(
        { id, state: "uploading", uploads, tus: { endpoint: `${origin}/v1/tus` } },
        existing ? 200 : 201,
      );
    },
  )
  .get("/v1/captures/:id", async (c) => {
    const r = await ownedCapture(c.env, c.req.param("id"), c.get("principal"));
    const uploaded = r.frames.filter(Boolean).length;
    return c.json({
      id: r.id,
      state: r.state,
      progress: { framesUploaded: uploaded, framesTotal: r.frames.length },
      frames: r.frames.map((f, index) =>
        f
          ? { index, uploaded: true, bytes: f.bytes, sha256: f.sha256 }
          : { index, uploaded: false },
      ),
      ...(r.address ? { address: r.address, cacheHit: r.cacheHit ?? false } : {}),
      ...(r.state === "done"
        ? {
            results: Object.fromEntries(
              Object.keys(RESULT_FILES).map((f) => [f, `/v1/captures/${r.id}/depth?format=${f}`]),
            ),
          }
        : {}),
      attempts: r.attempts,
      ...(r.error ? { error: r.error } : {}),
      ...(r.timings ? { timingsMs: r.timings } : {}),
      ...(r.meta.device ? { device: r.meta.device } : {}),
      createdAt: new Date(r.createdAt).toISOString(),
      updatedAt: new Date(r.updatedAt).toISOString(),
    });
  })
  .post("/v1/captures/:id/finalize", async (c) => {
    const id = c.req.param("id");
    const owned = await ownedCapture(c.env, id, c.get("principal"));
    const key = idempotencyKey(c.req.header("idempotency-key"));
    // Asked before the atomic step (it is I/O to another service); dff needs no prior.
    const prior = owned.meta.options.stage === "dff" ? null : await currentPrior(c.env);
    const outcome = await captureStub(c.env, id).finalize(key, prior);
    if (!outcome) throw new HybridDepthError("CAPTURE_NOT_FOUND", "no capture with that id");
    if (outcome.kind === "missing")
      throw new HybridDepthError(
        "FRAMES_MISSING",
        `frames not uploaded yet: ${outcome.frames.join(", ")}`,
      );
    if (outcome.kind === "already") return c.json({ id, state: outcome.state }, 200);
    const { state, address, cacheHit } = outcome;
    return c.json({ id, state, address, cacheHit }, cacheHit ? 200 : 202);
  })
  .delete("/v1/captures/:id", async (c) => {
    const id = c.req.param("id");
    await ownedCapture(c.env, id, c.get("principal"));
    // The record goes first, so a job still in flight finds no capture and stores nothing.
    const stub = captureStub(c.env, id);
    const removed = await stub.destroy();
    // The user's data right: the frames, tus uploads, and the tenant's result unless another
    // of their captures uses it (the capture's alarm finishes this should the request stop).
    if (removed) {
      await releaseCaptureStorage(c.env, removed);
      await stub.removed();
    }
    return c.body(null, 204);
  });
