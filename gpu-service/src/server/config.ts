import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { MAX_SKEW_SECONDS } from "#shared/auth/requestSignature.ts";
import { FUSION_PATHS } from "#shared/pipeline/result.ts";
import { MAX_FRAME_BYTES as EDGE_MAX_FRAME_BYTES } from "#shared/service/uploadSchema.ts";
import { DEFAULT_FRAME_ORIGINS, parseOriginRules } from "../fetch/frameOrigins.ts";

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

/** The service's configuration, from the environment, validated once at start. */
export const ConfigSchema = z
  .object({
    PORT: int(8080, 0),
    HOST: z.string().default("0.0.0.0"),
    /** HMAC key shared with the edge worker. */
    GPU_SERVICE_SECRET: z.preprocess(
      (v) => (v === "" ? undefined : v), // an empty variable is no secret
      z.string().min(16, "GPU_SERVICE_SECRET must be at least 16 characters").optional(),
    ),
    /** Bearer token Prometheus scrapes /metrics with (it cannot sign requests). */
    METRICS_TOKEN: z.preprocess(
      (v) => (v === "" ? undefined : v),
      z.string().min(16, "METRICS_TOKEN must be at least 16 characters").optional(),
    ),
    /** Dev mode runs without a secret (and says so); never in production. */
    HYBRIDDEPTH_DEV: z.enum(["0", "1"]).default("0"),
    /** Prior model: a registry name or file; default the best one found. */
    HYBRIDDEPTH_MODEL: z.string().optional(),
    /** Per-pixel fusion as ONNX graphs or TypeScript (read by the pipeline; checked here at start). */
    HYBRIDDEPTH_FUSION: z.enum(FUSION_PATHS).optional(),
    HYBRIDDEPTH_FUSION_PLACEMENT: z.enum(["0", "1"]).optional(),
    /** Threads of the frame pool and the CPU prior (read by the pipeline; checked here at start). */
    HYBRIDDEPTH_THREADS: z.preprocess(
      (v) => (v === "" ? undefined : v),
      z.coerce.number().int().min(1).optional(),
    ),
    /** Jobs waiting beyond the ones running; more are refused with 503 + Retry-After. */
    MAX_QUEUE: int(8),
    /** Jobs in the pipeline at once (they interleave, so their prior runs can batch). */
    MAX_IN_FLIGHT: int(2, 1),
    /** A job's whole time in its slot, frame downloads included; past it the job is stopped. */
    JOB_TIMEOUT_MS: int(120_000, 1000),
    /** A timed-out job not stopped by then (stuck in one long step): its thread is replaced. */
    JOB_CANCEL_GRACE_MS: int(10_000, 100),
    /**
     * Bytes of frames held service-wide between download and decode; downloads wait beyond it.
     * Each download reserves MAX_FRAME_BYTES until its real size is known.
     */
    FRAME_BUDGET_BYTES: int(1024 * 1024 * 1024, 1),
    /** Dynamic batching of prior inference (Triton's max_batch_size and max_queue_delay). */
    MAX_BATCH: int(4, 1),
    MAX_QUEUE_DELAY_MS: int(5),
    /**
     * Origins frame URLs may point at (the edge worker's own), comma-separated; `host:*` for any
     * port. Nothing else is ever requested. Default: loopback only (local stacks).
     */
    FRAME_ORIGINS: z
      .string()
      .default(DEFAULT_FRAME_ORIGINS)
      .transform((v, ctx) => {
        try {
          const rules = parseOriginRules(v);
          if (rules.length > 0) return rules;
          ctx.addIssue({ code: "custom", message: "FRAME_ORIGINS lists no origin" });
        } catch (e) {
          ctx.addIssue({ code: "custom", message: (e as Error).message });
        }
        return z.NEVER;
      }),
    FETCH_TIMEOUT_MS: int(15_000, 100),
    FETCH_RETRIES: int(3),
    /** The edge accepts frames up to the same size (a 12 MP 16-bit PNG is ≈ 72 MB). */
    MAX_FRAME_BYTES: int(EDGE_MAX_FRAME_BYTES, 1),
    /** Bodies of /v1/fuse/inline (it carries the frames) at most this many bytes. */
    MAX_BODY_BYTES: int(512 * 1024 * 1024, 1),
    /** Bodies of every other route (a /v1/fuse job is JSON with URLs) at most this many bytes. */
    MAX_JOB_BYTES: int(1024 * 1024, 1),
    /**
     * Where the job-id ledger lives (job ids taken on, and their answers): a job id runs once,
     * across restarts, and across replicas that share the directory (a shared volume).
     */
    JOB_LEDGER_DIR: z.string().min(1).default(join(tmpdir(), "hybriddepth-jobs")),
    /** How long a finished job id (and its answer) is remembered; at least the replay window. */
    JOB_LEDGER_RETENTION_SECONDS: int(3600, 2 * MAX_SKEW_SECONDS),
    /** Answer bytes the ledger keeps at most; beyond, the oldest answers are dropped first. */
    JOB_LEDGER_MAX_BYTES: int(1024 * 1024 * 1024, 0),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
  })
  .refine((c) => c.FRAME_BUDGET_BYTES >= c.MAX_FRAME_BYTES, {
    message: "FRAME_BUDGET_BYTES must hold at least one frame (MAX_FRAME_BYTES)",
    path: ["FRAME_BUDGET_BYTES"],
  })
  .refine((c) => c.GPU_SERVICE_SECRET !== undefined || c.HYBRIDDEPTH_DEV === "1", {
    message:
      "GPU_SERVICE_SECRET is required (set HYBRIDDEPTH_DEV=1 to run unauthenticated in development)",
    path: ["GPU_SERVICE_SECRET"],
  });

export type ServiceConfig = z.infer<typeof ConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): ServiceConfig {
  const r = ConfigSchema.safeParse(env);
  if (!r.success) {
    throw new Error(
      `invalid configuration: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return r.data;
}
