import { type Context, Hono, type MiddlewareHandler } from "hono";
import { HybridDepthError } from "#shared/errors.ts";
import { MAX_FRAME_BYTES } from "#shared/service/uploadSchema.ts";
import { acceptsFrames } from "../capture/stateMachine.ts";
import type { AppEnv, WorkerEnv } from "../env.ts";
import { admitFrame } from "../lib/admitFrame.ts";
import { captureStub, ownedCapture, UUID_V4 } from "../lib/captures.ts";
import { frameInspector } from "../lib/frameInspector.ts";
import { PartBuffer } from "../lib/partBuffer.ts";
import { frameKey, tusTailKey } from "../lib/r2Keys.ts";
import type { TusUpload } from "../uploadObject.ts";

/**
 * Resumable frame uploads, tus 1.0 (core, creation, termination, expiration). Bytes are tiled
 * into an R2 multipart upload of one fixed part size; what is short of a part waits in a tail
 * object; the upload's Durable Object records the offset only once R2 holds the bytes.
 */
export const TUS_VERSION = "1.0.0";
const TUS_EXTENSIONS = "creation,termination,expiration";
const MIB = 1024 * 1024;
/** How often a writing PATCH renews its lease (well within the UploadObject's LEASE_MS). */
const LEASE_RENEW_MS = 2_000;

type Ctx = Context<AppEnv>;

/** R2 parts: at least 5 MiB (R2's floor), 8 MiB unless configured. */
export function partBytes(env: WorkerEnv): number {
  const mib = Number(env.TUS_PART_MIB ?? "8");
  return Math.max(5, Number.isFinite(mib) ? mib : 8) * MIB;
}

const uploadTtlMs = (env: WorkerEnv) => Number(env.TUS_UPLOAD_TTL_SECONDS ?? "86400") * 1000;

/** `Upload-Metadata`: comma-separated `key base64value` pairs. */
export function parseUploadMetadata(header: string | undefined): Record<string, string> {
  // No prototype: a key such as `__proto__` is just a key.
  const out: Record<string, string> = Object.create(null);
  for (const pair of (header ?? "").split(",")) {
    const [key, value, extra] = pair.trim().split(" ");
    if (!key) continue;
    // tus creation: "The key and value MUST be separated by a space. The key MUST NOT contain
    // spaces and commas and MUST NOT be empty."
    if (extra !== undefined || !/^[\x21-\x2b\x2d-\x7e]+$/.test(key))
      throw new HybridDepthError("INVALID_ARGUMENT", "Upload-Metadata: malformed pair");
    // tus creation: "All keys MUST be unique." (else which captureId counts is a guess)
    if (Object.hasOwn(out, key))
      throw new HybridDepthError("INVALID_ARGUMENT", `Upload-Metadata: key ${key} is not unique`);
    // tus creation: "the value MUST be Base64 encoded".
    try {
      out[key] = value
        ? new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
            Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0)),
          )
        : "";
    } catch {
      throw new HybridDepthError("INVALID_ARGUMENT", `Upload-Metadata: ${key} is not base64`);
    }
  }
  return out;
}

function uploadStub(env: WorkerEnv, uploadId: string) {
  if (!UUID_V4.test(uploadId)) throw new HybridDepthError("UPLOAD_NOT_FOUND");
  return env.UPLOADS.get(env.UPLOADS.idFromName(uploadId));
}

/**
 * The upload, if it exists and belongs to the caller. tus termination: "For all future requests
 * to this URL, the Server SHOULD respond with the 404 Not Found or 410 Gone status."
 */
async function ownedUpload(c: Ctx): Promise<TusUpload> {
  const u = await uploadStub(c.env, c.req.param("uploadId")!).get();
  if (!u || u.owner !== c.get("principal") || u.state === "terminated")
    throw new HybridDepthError("UPLOAD_NOT_FOUND");
  return u;
}

function integerHeader(c: Ctx, name: string): number {
  const v = c.req.header(name);
  if (v === undefined || !/^\d{1,15}$/.test(v))
    throw new HybridDepthError("INVALID_ARGUMENT", `${name} must be a non-negative integer`);
  return Number(v);
}

const expires = (u: TusUpload) => new Date(u.expiresAt).toUTCString();

/** tus discovery: OPTIONS (answered by the CORS layer) carries what the server supports. */
export const tusDiscovery: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.req.method !== "OPTIONS") return;
  for (const [k, v] of Object.entries({
    "Tus-Resumable": TUS_VERSION,
    "Tus-Version": TUS_VERSION,
    "Tus-Extension": TUS_EXTENSIONS,
    "Tus-Max-Size": String(MAX_FRAME_BYTES),
  }))
    c.res.headers.set(k, v);
};

export const tusRoutes = new Hono<AppEnv>()
  .use("/v1/tus/*", async (c, next) => {
    // tus core: "The Tus-Resumable header MUST be included in every request and response except
    // for OPTIONS requests."
    c.header("Tus-Resumable", TUS_VERSION);
    // "If the Client requested version is not supported by the Server, it MUST respond with the
    // 412 Precondition Failed status and MUST include the Tus-Version header into the response."
    if (c.req.header("tus-resumable") !== TUS_VERSION) {
      c.header("Tus-Version", TUS_VERSION);
      throw new HybridDepthError("TUS_VERSION_UNSUPPORTED");
    }
    return next();
  })
  .post("/v1/tus", async (c) => {
    if (c.req.header("upload-defer-length") !== undefined)
      throw new HybridDepthError(
        "INVALID_ARGUMENT",
        "Upload-Defer-Length is not supported: declare Upload-Length",
      );
    const length = integerHeader(c, "upload-length");
    const meta = parseUploadMetadata(c.req.header("upload-metadata"));
    const captureId = meta.captureId ?? "";
    const index = Number(meta.frameIndex);
    if (!captureId || !/^\d{1,2}$/.test(meta.frameIndex ?? ""))
      throw new HybridDepthError(
        "INVALID_ARGUMENT",
        "Upload-Metadata must carry captureId and frameIndex",
      );
    const capture = await ownedCapture(c.env, captureId, c.get("principal"));
    const frame = capture.meta.frames[index];
    if (!frame)
      throw new HybridDepthError(
        "INVALID_ARGUMENT",
        `frameIndex ${index} is not a frame of the capture`,
      );
    if (capture.state !== "uploading") throw new HybridDepthError("CAPTURE_NOT_UPLOADING");
    if (length !== frame.bytes)
      throw new HybridDepthError(
        "LENGTH_MISMATCH",
        `Upload-Length ${length} differs from the declared ${frame.bytes} bytes`,
      );

    const id = crypto.randomUUID();
    // The upload's own object: the record switches to it only once it is validated.
    const key = frameKey(captureId, index, id);
    // tus creation: "The Server MUST acknowledge a successful upload creation with the 201 Created
    // status. The Server MUST set the Location header to the URL of the created resource."
    const multipart = await c.env.BUCKET.createMultipartUpload(key, {
      httpMetadata: { contentType: frame.contentType },
    });
    const upload: TusUpload = {
      id,
      owner: c.get("principal"),
      captureId,
      index,
      length,
      contentType: frame.contentType,
      partBytes: partBytes(c.env),
      key,
      r2UploadId: multipart.uploadId,
      parts: [],
      offset: 0,
      tailKey: tusTailKey(captureId, id),
      tailBytes: 0,
      expiresAt: Date.now() + uploadTtlMs(c.env),
      state: "active",
    };
    await uploadStub(c.env, id).create(upload);
    // The capture removes its tus uploads with it (DELETE, expiry); one finalized meanwhile refuses.
    if (!(await captureStub(c.env, captureId).tusStarted(id))) {
      await uploadStub(c.env, id).terminate();
      throw new HybridDepthError("CAPTURE_NOT_UPLOADING");
    }
    return c.body(null, 201, {
      Location: `${new URL(c.req.url).origin}/v1/tus/${id}`,
      "Upload-Expires": expires(upload),
    });
  })
  // Hono answers HEAD through the GET route (dropping the body); a plain GET is not tus.
  .get("/v1/tus/:uploadId", async (c) => {
    if (c.req.method !== "HEAD") throw new HybridDepthError("NOT_FOUND");
    const u = await ownedUpload(c);
    if (u.state === "expired" || (u.state === "active" && u.expiresAt <= Date.now()))
      throw new HybridDepthError("UPLOAD_EXPIRED");
    if (u.state === "rejected")
      throw new HybridDepthError("CONTENT_TYPE_MISMATCH", `the upload is not ${u.contentType}`);
    // tus core: "The Server MUST always include the Upload-Offset header in the response for a
    // HEAD request, even if the offset is 0, or the upload is already considered completed."
    // "The Server MUST prevent the client and/or proxies from caching the response by adding the
    // Cache-Control: no-store header to the response."
    return c.body(null, 200, {
      "Upload-Offset": String(u.offset),
      "Upload-Length": String(u.length),
      "Cache-Control": "no-store",
      ...(u.state === "active" ? { "Upload-Expires": expires(u) } : {}),
    });
  })
  .patch("/v1/tus/:uploadId", async (c) => {
    const u0 = await ownedUpload(c);
    // Nothing is written into a finalized capture: its frames are what its address names.
    const capture = await captureStub(c.env, u0.captureId).get();
    if (!capture || !acceptsFrames(capture.state))
      throw new HybridDepthError("CAPTURE_NOT_UPLOADING");
    // tus core: "All PATCH requests MUST use Content-Type: application/offset+octet-stream,
    // otherwise the server SHOULD return a 415 Unsupported Media Type status."
    if (
      (c.req.header("content-type") ?? "").split(";")[0]!.trim() !==
      "application/offset+octet-stream"
    ) {
      throw new HybridDepthError(
        "CONTENT_TYPE_MISMATCH",
        "Content-Type must be application/offset+octet-stream",
      );
    }
    const offset = integerHeader(c, "upload-offset");
    const declared = c.req.header("content-length");
    if (declared !== undefined && offset + Number(declared) > u0.length)
      throw new HybridDepthError(
        "UPLOAD_TOO_LARGE",
        `offset ${offset} + ${declared} bytes passes Upload-Length ${u0.length}`,
      );
    const token = crypto.randomUUID();
    const stub = uploadStub(c.env, u0.id);
    const got = (await stub.acquire(offset, token))!;
    if (got.kind === "locked") throw new HybridDepthError("UPLOAD_LOCKED");
    // tus core: "The Upload-Offset header's value MUST be equal to the current offset of the
    // resource. [...] If the offsets do not match, the Server MUST respond with the 409 Conflict
    // status without modifying the upload resource."
    if (got.kind === "offset")
      throw new HybridDepthError(
        "UPLOAD_OFFSET_MISMATCH",
        `Upload-Offset ${offset} differs from the stored ${got.offset}`,
      );
    if (got.kind === "state") {
      if (got.upload.state === "completed" && offset === got.upload.length)
        return c.body(null, 204, { "Upload-Offset": String(offset) });
      throw new HybridDepthError(
        got.upload.state === "rejected" ? "CONTENT_TYPE_MISMATCH" : "UPLOAD_EXPIRED",
      );
    }
    // The bytes must land even if the client goes away mid-body: the work outlives the request.
    const work = writeChunk(c.env, got.upload, token, c.req.raw.body);
    c.executionCtx.waitUntil(work.catch(() => undefined));
    const after = await work;
    // tus core: "The Server MUST acknowledge successful PATCH requests with the 204 No Content
    // status. It MUST include the Upload-Offset header containing the new offset." Expiration:
    // "This header MUST be included in every PATCH response if the upload is going to expire."
    return c.body(null, 204, {
      "Upload-Offset": String(after.offset),
      ...(after.state === "active" ? { "Upload-Expires": expires(after) } : {}),
    });
  })
  .delete("/v1/tus/:uploadId", async (c) => {
    const u = await ownedUpload(c);
    if (u.state === "completed") {
      // The frame is in place: terminating removes it, while the capture still takes uploads.
      const removed = await captureStub(c.env, u.captureId).frameRemoved(u.index, u.key);
      if (!removed) throw new HybridDepthError("CAPTURE_NOT_UPLOADING");
      await c.env.BUCKET.delete(u.key);
    }
    // tus termination: "When receiving a DELETE request for an existing upload the Server SHOULD
    // free associated resources and MUST respond with the 204 No Content status confirming that
    // the upload was terminated." A completed upload is terminated too (not left "completed").
    await uploadStub(c.env, u.id).terminate();
    return c.body(null, 204);
  });

/**
 * Streams one PATCH body into R2: full parts go to the multipart upload, the rest to the tail
 * object. On the last byte the object is completed and verified (digest, magic bytes) and
 * the frame recorded in its capture.
 */
async function writeChunk(
  env: WorkerEnv,
  u: TusUpload,
  token: string,
  body: ReadableStream<Uint8Array> | null,
): Promise<TusUpload> {
  const stub = uploadStub(env, u.id);
  const multipart = env.BUCKET.resumeMultipartUpload(u.key, u.r2UploadId);
  const tail = u.tailBytes
    ? new Uint8Array(await (await env.BUCKET.get(u.tailKey))!.arrayBuffer()).subarray(
        0,
        u.tailBytes,
      )
    : undefined;
  const buffer = new PartBuffer(u.partBytes, tail);
  let state = u;
  let received = 0;
  let failure: unknown;
  let renewedAt = Date.now();
  const room = u.length - u.offset;
  try {
    if (body) {
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.byteLength;
        if (received > room) {
          await reader.cancel();
          throw new HybridDepthError("UPLOAD_TOO_LARGE");
        }
        // Heartbeat: keep the lease while bytes flow (a dead writer's lease lapses in LEASE_MS).
        if (Date.now() - renewedAt > LEASE_RENEW_MS) {
          if (!(await stub.renew(token))) {
            // Stalled past the lease and another PATCH took over: leave the upload to it.
            await reader.cancel();
            throw new HybridDepthError("UPLOAD_LOCKED");
          }
          renewedAt = Date.now();
        }
        await buffer.push(value, async (part) => {
          const partNumber = state.parts.length + 1;
          const r = await multipart.uploadPart(partNumber, part);
          state = await stub.partStored(token, {
            partNumber,
            etag: r.etag,
            bytes: part.byteLength,
          });
        });
      }
    }
  } catch (e) {
    if (e instanceof HybridDepthError && e.kind === "UPLOAD_LOCKED") throw e;
    failure = e; // a dropped connection: keep what arrived, so HEAD reports it
  }
  const pending = buffer.pending;
  // Bytes past Upload-Length are refused, but what came before the overflowing chunk is kept:
  // when it fills the upload, the frame completes and the PATCH still answers 413.
  const overflow = failure instanceof HybridDepthError && failure.kind === "UPLOAD_TOO_LARGE";
  const complete =
    (!failure || overflow) &&
    state.parts.reduce((s, p) => s + p.bytes, 0) + pending.byteLength === u.length;
  if (complete) {
    if (pending.byteLength) {
      const partNumber = state.parts.length + 1;
      const r = await multipart.uploadPart(partNumber, pending.slice());
      state = await stub.partStored(token, { partNumber, etag: r.etag, bytes: pending.byteLength });
    }
    await multipart.complete(state.parts.map(({ partNumber, etag }) => ({ partNumber, etag })));
    await env.BUCKET.delete(u.tailKey);
    const done = await verifyCompleted(env, state, token);
    if (overflow) throw failure;
    return done;
  }
  // Pending bytes are the old tail plus what came after the last full part. Writing the tail
  // before recording it is safe: a crash in between leaves the old, shorter count in force.
  if (pending.byteLength !== state.tailBytes) {
    await env.BUCKET.put(u.tailKey, pending.slice());
    state = await stub.tailStored(token, pending.byteLength);
  }
  await stub.release(token);
  if (failure) throw failure;
  return state;
}

/** Hashes and sniffs the completed object, then records the frame (or refuses it). */
async function verifyCompleted(env: WorkerEnv, u: TusUpload, token: string): Promise<TusUpload> {
  const stub = uploadStub(env, u.id);
  const obj = await env.BUCKET.get(u.key);
  if (!obj) throw new Error(`completed upload ${u.id} is missing from R2`);
  const inspector = frameInspector();
  await obj.body.pipeThrough(inspector.stream).pipeTo(new WritableStream());
  const inspected = await inspector.result();
  const frame = { key: u.key, captureId: u.captureId, index: u.index, contentType: u.contentType };
  try {
    // The parts add up to Upload-Length by construction; an object of another size is not the frame.
    if (inspected.bytes !== u.length) {
      await env.BUCKET.delete(u.key);
      throw new HybridDepthError(
        "CONTENT_TYPE_MISMATCH",
        `body is not ${u.contentType} (magic bytes)`,
      );
    }
    await admitFrame(env, frame, inspected);
  } catch (e) {
    await stub.finish(token, "rejected");
    throw e;
  }
  return stub.finish(token, "completed");
}
