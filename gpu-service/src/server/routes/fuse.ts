import { createHash } from "node:crypto";
import { Hono } from "hono";
import type { z } from "zod";
import { describeIssues } from "#shared/capture/parse.ts";
import { HybridDepthError } from "#shared/errors.ts";
import {
  FuseJobSchema,
  InlineFuseJobSchema,
  OUTPUT_CONTENT_TYPES,
  type OutputName,
} from "#shared/service/fuseJob.ts";
import { fetchFrame } from "../../fetch/fetchFrame.ts";
import type { JobOutputs } from "../../service/executeJob.ts";
import type { ServiceConfig } from "../config.ts";
import type { FrameSource } from "../frameFeed.ts";
import type { JobLedger, LedgerOutcome, StoredAnswer } from "../jobLedger.ts";
import type { ServiceState } from "../serviceState.ts";

export type RunJob = (
  jobId: string,
  job: {
    capture: z.infer<typeof FuseJobSchema>["capture"];
    options: z.infer<typeof FuseJobSchema>["options"];
  },
  frames: FrameSource,
) => Promise<JobOutputs>;

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new HybridDepthError("INVALID_ARGUMENT", describeIssues(r.error));
  return r.data;
}

/** The answer: one multipart/form-data part per output (layout in shared/src/service/fuseJob.ts). */
function multipart(out: JobOutputs): Response {
  const form = new FormData();
  for (const [name, bytes] of Object.entries(out.parts) as [OutputName, Uint8Array][]) {
    form.append(
      name,
      new Blob([bytes as Uint8Array<ArrayBuffer>], { type: OUTPUT_CONTENT_TYPES[name] }),
      name,
    );
  }
  return new Response(form, { status: 200 });
}

/**
 * What a job computes, for telling two jobs under one id apart: capture, options and each frame's
 * sha256 (or its URL without the query, which carries the edge's per-attempt signature and expiry).
 */
export function jobFingerprint(job: z.infer<typeof FuseJobSchema>): string {
  const frames = job.frames.map((f) => f.sha256 ?? f.url.split("?")[0]);
  return createHash("sha256")
    .update(JSON.stringify({ capture: job.capture, options: job.options, frames }))
    .digest("hex");
}

async function stored(res: Response): Promise<StoredAnswer> {
  return {
    status: res.status,
    contentType: res.headers.get("content-type") ?? "application/octet-stream",
    body: new Uint8Array(await res.arrayBuffer()),
  };
}

export function fuseRoutes(
  config: ServiceConfig,
  state: ServiceState,
  runJob: RunJob,
  ledger: JobLedger,
  onJobId: (outcome: LedgerOutcome) => void = () => {},
): Hono {
  const admit = () => {
    if (state.draining)
      throw new HybridDepthError("NOT_READY", "shutting down: send the job elsewhere");
    if (!state.ready) throw new HybridDepthError("NOT_READY", "loading and warming up the models");
  };
  return new Hono()
    .post("/v1/fuse", async (c) => {
      admit();
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder().decode(c.get("body")));
      } catch {
        throw new HybridDepthError("INVALID_ARGUMENT", "body is not valid JSON");
      }
      const job = parse(FuseJobSchema, body);
      // Nothing is fetched here: the job runner fetches each frame once the job is admitted.
      const frames: FrameSource = {
        count: job.frames.length,
        reserveBytes: config.MAX_FRAME_BYTES,
        fetch: (i, signal) =>
          fetchFrame(
            job.frames[i]!.url,
            `frame ${i} (${job.capture.frames[i]!.file})`,
            job.frames[i]!.sha256,
            {
              timeoutMs: config.FETCH_TIMEOUT_MS,
              retries: config.FETCH_RETRIES,
              maxBytes: config.MAX_FRAME_BYTES,
              origins: config.FRAME_ORIGINS,
              signal,
            },
          ),
      };
      // A job id runs once: a duplicate joins it, a replay gets its answer (jobLedger.ts).
      const { answer, outcome } = await ledger.once(job.jobId, jobFingerprint(job), async () =>
        stored(multipart(await runJob(job.jobId, job, frames))),
      );
      onJobId(outcome);
      return new Response(answer.body as Uint8Array<ArrayBuffer>, {
        status: answer.status,
        headers: { "content-type": answer.contentType },
      });
    })
    .post("/v1/fuse/inline", async (c) => {
      admit();
      let form: FormData;
      try {
        const type = c.req.header("content-type") ?? "";
        form = await new Response(c.get("body"), { headers: { "content-type": type } }).formData();
      } catch {
        throw new HybridDepthError("INVALID_ARGUMENT", "body is not multipart/form-data");
      }
      const meta = form.get("job");
      if (typeof meta !== "string")
        throw new HybridDepthError("INVALID_ARGUMENT", 'multipart field "job" (JSON) is missing');
      let json: unknown;
      try {
        json = JSON.parse(meta);
      } catch {
        throw new HybridDepthError("INVALID_ARGUMENT", 'field "job" is not valid JSON');
      }
      const job = parse(InlineFuseJobSchema, json);
      const files = form.getAll("frame");
      if (files.length !== job.capture.frames.length) {
        throw new HybridDepthError(
          "INVALID_ARGUMENT",
          `expected ${job.capture.frames.length} "frame" parts in capture order, got ${files.length}`,
        );
      }
      const bytes = await Promise.all(
        files.map(async (f, i) => {
          if (typeof f === "string")
            throw new HybridDepthError("INVALID_ARGUMENT", `"frame" part ${i} is not a file`);
          if (f.size > config.MAX_FRAME_BYTES)
            throw new HybridDepthError(
              "FRAME_BYTES_TOO_LARGE",
              `frame ${i} is ${f.size} bytes (limit ${config.MAX_FRAME_BYTES})`,
            );
          return new Uint8Array(await f.arrayBuffer());
        }),
      );
      // In memory already (the body's limit bounds them): nothing to reserve.
      const frames: FrameSource = {
        count: bytes.length,
        reserveBytes: 0,
        fetch: async (i) => bytes[i]!,
      };
      return multipart(await runJob(job.jobId, job, frames));
    });
}
