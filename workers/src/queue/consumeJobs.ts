import { signRequest } from "#shared/auth/requestSignature.ts";
import { ERRORS, type HybridDepthError } from "#shared/errors.ts";
import { encodeNpyFloat32 } from "#shared/format/npy.ts";
import { assertFinite } from "#shared/pipeline/finite.ts";
import { type FuseJob, fuseJobId } from "#shared/service/fuseJob.ts";
import { EDGE_PARTS, outputByPart } from "#shared/service/outputs.ts";
import { priorIdentity } from "#shared/service/priorIdentity.ts";
import { RETRYING } from "../capture/stateMachine.ts";
import { type CaptureRecord, type JobBinding, ownerScope } from "../captureObject.ts";
import type { JobMessage, WorkerEnv } from "../env.ts";
import { captureStub } from "../lib/captures.ts";
import { gpuFetch } from "../lib/gpuService.ts";
import { gpuTimeoutMs } from "../lib/limits.ts";
import {
  computedBy,
  privateResultPrefix,
  type ResultFile,
  resultKey,
  resultRefKey,
  sharedResultPrefix,
} from "../lib/r2Keys.ts";
import { releaseResult } from "../lib/results.ts";
import { frameClaims, signUrl } from "../lib/signedUrl.ts";

/** How long the GPU service may take to fetch a job's frames. */
const FRAME_URL_TTL_MS = 30 * 60 * 1000;

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
  const job = msg.body;
  const stub = captureStub(env, job.captureId);
  if (deadLetter) {
    const current = await stub.get();
    // The first reason a retry recorded is the real cause; the dead letter itself is not one.
    const cause =
      current?.error?.code === RETRYING
        ? current.error.message
        : "the GPU service stayed unavailable";
    // Refused (and only acknowledged) when the capture finished or changed meanwhile.
    await stub.advance(job, "failed", {
      error: {
        code: ERRORS.GPU_UNAVAILABLE.code,
        message: `gave up after ${msg.attempts} attempts; first cause: ${cause}`,
      },
    });
    msg.ack();
    return;
  }
  // Refused when the capture was deleted or recreated, its frames differ from the ones the
  // address was computed from, or it is finished: nothing of this job may touch it.
  const started = await stub.advance(job, "processing", { attempts: msg.attempts });
  if (!started.ok) {
    msg.ack();
    return;
  }
  const outcome = await runOnGpu(started.record, job, env);
  if (outcome.kind === "done") msg.ack();
  else if (outcome.kind === "failed") {
    await stub.advance(job, "failed", { error: { code: outcome.code, message: outcome.message } });
    msg.ack();
  } else {
    // Still processing: the state never goes back, the reason is reported beside it. The first
    // retry's reason is kept: later ones are often its echo (timeouts after an outage).
    const prior = started.record.error;
    const first = prior?.code === RETRYING ? prior.message : outcome.reason;
    await stub.advance(job, "processing", { error: { code: RETRYING, message: first } });
    msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, env) });
  }
}

/** The `{error:{code,message}}` of a GPU service answer, if it has one (short strings only). */
async function errorBody(res: Response): Promise<{ code: string; message: string } | undefined> {
  const body = (await res.json().catch(() => undefined)) as
    | { error?: { code?: unknown; message?: unknown } }
    | undefined;
  const { code, message } = body?.error ?? {};
  if (typeof code !== "string" || typeof message !== "string") return undefined;
  return { code: code.slice(0, 64), message: message.slice(0, 500) };
}

async function runOnGpu(r: CaptureRecord, job: JobBinding, env: WorkerEnv): Promise<Outcome> {
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
  const fuseJob: FuseJob = {
    // One id per attempt's work: every redelivery of it is answered from the service's ledger
    // instead of running again, and a new generation (or new content) is a new job.
    jobId: fuseJobId(r.id, r.generation, job.address),
    capture: {
      ...metaFields,
      frames: r.meta.frames.map(({ file, focusDistance }) => ({ file, focusDistance })),
    },
    frames,
    options: { stage: options.stage, outputs: EDGE_PARTS },
  };
  const body = JSON.stringify(fuseJob);
  const contentType = "application/json";
  const headers = {
    "content-type": contentType,
    ...(await signRequest(env.GPU_SERVICE_SECRET, {
      method: "POST",
      path: "/v1/fuse",
      contentType,
      body,
    })),
  };
  let res: Response;
  try {
    // A hung service must not keep the capture processing for good: the signal also bounds
    // reading the answer, and a timeout is retried like any outage.
    const signal = AbortSignal.timeout(gpuTimeoutMs(env));
    res = await gpuFetch(env, "/v1/fuse", { method: "POST", headers, body, signal });
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
  const answer = JSON.parse(new TextDecoder().decode(resultBytes)) as {
    timingsMs?: Record<string, number>;
    width: number;
    height: number;
    stage?: string;
    model?: string | null;
    modelSha256?: string | null;
  };
  const { timingsMs: timings, width, height } = answer;
  // A depth that is not finite everywhere is no answer: never stored, never served as done.
  const depthPart = form.get("depth") as unknown;
  if (depthPart && typeof depthPart !== "string") {
    const depth = new Float32Array(await (depthPart as Blob).arrayBuffer());
    try {
      assertFinite("depth", depth);
    } catch (e) {
      const err = e as HybridDepthError;
      return { kind: "failed", code: err.code, message: err.message };
    }
  }
  // A result is shared (a cache hit for the tenant's next capture) only as the answer to the
  // stage it reached, by the prior that computed it; a fallback stays this capture's own.
  const asked = r.meta.options.stage;
  const prefix =
    answer.stage === asked
      ? sharedResultPrefix(
          await ownerScope(r.owner),
          job.address,
          computedBy(asked, priorIdentity(answer.model, answer.modelSha256)),
        )
      : privateResultPrefix(r.id, r.generation);
  const stub = captureStub(env, r.id);
  // Deleted (or recreated) while the GPU worked: store nothing.
  const current = await stub.get();
  if (current?.generation !== r.generation || current.address !== job.address)
    return { kind: "done" };
  const put = async (key: string, bytes: ArrayBuffer | Uint8Array, type?: string) => {
    await env.BUCKET.put(key, bytes, type ? { httpMetadata: { contentType: type } } : undefined);
  };
  await put(resultRefKey(prefix, r.id), new Uint8Array(0));
  for (const part of EDGE_PARTS) {
    const value = form.get(part) as unknown;
    if (!value || typeof value === "string") continue;
    const bytes = await (value as Blob).arrayBuffer();
    await put(resultKey(prefix, outputByPart(part).file as ResultFile), bytes);
    // The same depth as NumPy reads it, so `format=npy` is a plain (rangeable) object too.
    if (part === "depth" && bytes.byteLength === width * height * 4)
      await put(
        resultKey(prefix, "depth.npy"),
        encodeNpyFloat32(new Float32Array(bytes), [height, width]),
      );
  }
  // result.json last: its presence is what marks the result as computed (the cache check).
  await put(resultKey(prefix, "result.json"), resultBytes, "application/json");
  const done = await stub.advance(job, "done", {
    resultPrefix: prefix,
    ...(timings ? { timings } : {}),
  });
  // Deleted while storing: take back what this job wrote (shared outputs only if no one else uses them).
  if (!done.ok && done.reason !== "illegal") await releaseResult(env, prefix, r.id);
  return { kind: "done" };
}
