import { signRequest } from "#shared/auth/requestSignature.ts";
import { ERRORS } from "#shared/errors.ts";
import { encodeNpyFloat32 } from "#shared/format/npy.ts";
import type { FuseJob } from "#shared/service/fuseJob.ts";
import type { CaptureRecord } from "../captureObject.ts";
import type { JobMessage, WorkerEnv } from "../env.ts";
import { captureStub } from "../lib/captures.ts";
import { type ResultFile, resultKey } from "../lib/r2Keys.ts";
import { frameClaims, signUrl } from "../lib/signedUrl.ts";

/** How long the GPU service may take to fetch a job's frames. */
const FRAME_URL_TTL_MS = 30 * 60 * 1000;
/** GPU answer part → R2 result file. */
const PARTS: Record<string, ResultFile> = {
  result: "result.json",
  depth: "depth.f32",
  depth_png: "depth.png",
  preview: "preview.png",
  confidence: "confidence.u8",
};

/** Backoff for the queue's redelivery: base, 2×base, 4×base … capped (5 s … 5 min by default). */
export function retryDelaySeconds(
  attempts: number,
  env: Pick<WorkerEnv, "RETRY_BASE_SECONDS" | "RETRY_MAX_SECONDS">,
): number {
  const base = Number(env.RETRY_BASE_SECONDS) || 5;
  const max = Number(env.RETRY_MAX_SECONDS) || 300;
  return Math.min(max, base * 2 ** Math.max(0, attempts - 1));
}

type Outcome =
  | { kind: "done" }
  | { kind: "retry"; reason: string }
  | { kind: "failed"; code: string; message: string };

/**
 * Queue consumer: sends each job to the GPU service (HMAC-signed; frames as short-lived signed
 * URLs back to this worker), stores the outputs in R2 under the content address and marks the
 * capture done. Overload and network errors are retried with backoff; after the queue's
 * max_retries the message lands in the dead-letter queue, whose consumer marks it failed.
 */
export async function consumeJobs(batch: MessageBatch<JobMessage>, env: WorkerEnv): Promise<void> {
  const deadLetters = batch.queue.endsWith("-dlq");
  // Messages of a batch run side by side, so one consumer can fill the GPU service's slots.
  await Promise.all(batch.messages.map((msg) => consumeOne(msg, env, deadLetters)));
}

async function consumeOne(
  msg: Message<JobMessage>,
  env: WorkerEnv,
  deadLetter: boolean,
): Promise<void> {
  const stub = captureStub(env, msg.body.captureId);
  if (deadLetter) {
    const current = await stub.get();
    if (current && current.state !== "done" && current.state !== "failed") {
      // The first reason a retry recorded is the real cause; the dead letter itself is not one.
      const cause =
        current.error?.code === RETRYING
          ? current.error.message
          : "the GPU service stayed unavailable";
      await stub.transition("failed", {
        error: {
          code: ERRORS.GPU_UNAVAILABLE.code,
          message: `gave up after ${msg.attempts} attempts; first cause: ${cause}`,
        },
      });
    }
    msg.ack();
    return;
  }
  const record = await stub.transition("processing", { attempts: msg.attempts });
  if (!record || record.state === "done" || record.state === "failed") {
    msg.ack(); // deleted, or finished by an earlier delivery: nothing to do
    return;
  }
  const outcome = await runOnGpu(record, msg.body.address, env);
  if (outcome.kind === "done") msg.ack();
  else if (outcome.kind === "failed") {
    await stub.transition("failed", { error: { code: outcome.code, message: outcome.message } });
    msg.ack();
  } else {
    // Keep the first retry's reason: later ones are often its echo (timeouts after an outage).
    const first = record.error?.code === RETRYING ? record.error.message : outcome.reason;
    await stub.transition("queued", { error: { code: RETRYING, message: first } });
    msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, env) });
  }
}

/** The error code recorded on a capture waiting for its next delivery. */
const RETRYING = "retrying";

/** The `{error:{code,message}}` of a GPU service answer, if it has one (short strings only). */
async function errorBody(res: Response): Promise<{ code: string; message: string } | undefined> {
  const body = (await res.json().catch(() => undefined)) as
    | { error?: { code?: unknown; message?: unknown } }
    | undefined;
  const { code, message } = body?.error ?? {};
  if (typeof code !== "string" || typeof message !== "string") return undefined;
  return { code: code.slice(0, 64), message: message.slice(0, 500) };
}

async function runOnGpu(r: CaptureRecord, address: string, env: WorkerEnv): Promise<Outcome> {
  const expiresAt = Date.now() + FRAME_URL_TTL_MS;
  const frames = await Promise.all(
    r.meta.frames.map(async (f, index) => ({
      url: await signUrl(
        env.UPLOAD_SIGNING_KEY,
        r.origin,
        frameClaims("GET", r.id, index, f),
        expiresAt,
      ),
      sha256: r.frames[index]!.sha256,
    })),
  );
  const { options, ...metaFields } = r.meta;
  const job: FuseJob = {
    jobId: r.id,
    capture: {
      ...metaFields,
      frames: r.meta.frames.map(({ file, focusDistance }) => ({ file, focusDistance })),
    },
    frames,
    options: { stage: options.stage, outputs: ["depth", "depth_png", "preview", "confidence"] },
  };
  const body = JSON.stringify(job);
  const url = new URL("/v1/fuse", env.GPU_SERVICE_URL);
  const headers = {
    "content-type": "application/json",
    ...(await signRequest(env.GPU_SERVICE_SECRET, "POST", url.pathname, body)),
  };
  let res: Response;
  try {
    const init = { method: "POST", headers, body };
    // A service binding when configured, else the network (the global fetch, called unbound).
    res = await (env.GPU_SERVICE
      ? env.GPU_SERVICE.fetch(url.toString(), init)
      : fetch(url.toString(), init));
  } catch (e) {
    return { kind: "retry", reason: `GPU service unreachable (${(e as Error).message})` };
  }
  // 429 and 5xx are the service's trouble (retried); any other 4xx is the job's own fault: final.
  if (res.status === 429 || res.status >= 500) {
    const err = await errorBody(res);
    const what = err ? ` ${err.code}: ${err.message}` : "";
    return { kind: "retry", reason: `GPU service answered ${res.status}${what}` };
  }
  if (res.status !== 200) {
    const err = await errorBody(res);
    return {
      kind: "failed",
      code: err?.code ?? `gpu_http_${res.status}`,
      message: err?.message ?? `GPU service answered ${res.status}`,
    };
  }
  let form: FormData;
  try {
    form = await res.formData();
  } catch (e) {
    return { kind: "retry", reason: `GPU service answer cut short (${(e as Error).message})` };
  }
  const result = form.get("result") as unknown;
  if (!result || typeof result === "string")
    return { kind: "retry", reason: "GPU service answer has no result part" };
  const resultBytes = await (result as Blob).arrayBuffer();
  const {
    timingsMs: timings,
    width,
    height,
  } = JSON.parse(new TextDecoder().decode(resultBytes)) as {
    timingsMs?: Record<string, number>;
    width: number;
    height: number;
  };
  for (const [part, file] of Object.entries(PARTS)) {
    const value = form.get(part) as unknown;
    if (part === "result" || !value || typeof value === "string") continue;
    const bytes = await (value as Blob).arrayBuffer();
    await env.BUCKET.put(resultKey(address, file), bytes);
    // The same depth as NumPy reads it, so `format=npy` is a plain (rangeable) object too.
    if (part === "depth" && bytes.byteLength === width * height * 4) {
      const npy = encodeNpyFloat32(new Float32Array(bytes), [height, width]);
      await env.BUCKET.put(resultKey(address, "depth.npy"), npy);
    }
  }
  // result.json last: its presence is what marks the address as computed (the cache check).
  await env.BUCKET.put(resultKey(address, "result.json"), resultBytes, {
    httpMetadata: { contentType: "application/json" },
  });
  await captureStub(env, r.id).transition("done", { ...(timings ? { timings } : {}) });
  return { kind: "done" };
}
