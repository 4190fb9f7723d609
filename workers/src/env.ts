import type { CaptureObject } from "./captureObject.ts";
import type { PrincipalQuota } from "./quotaObject.ts";
import type { UploadObject } from "./uploadObject.ts";

/** Secrets: `.dev.vars` locally, `wrangler secret put` in staging and production. */
interface Secrets {
  /** HMAC key shared with the GPU service. */
  GPU_SERVICE_SECRET: string;
  /** HMAC key of the worker's own signed upload and frame URLs. */
  UPLOAD_SIGNING_KEY: string;
  /** Comma-separated sha256 hex digests of accepted API keys. */
  API_KEY_HASHES?: string;
  /** Accepted as an API key in the dev environment only. */
  DEV_API_KEY?: string;
  /** JWT auth (jose): a JWKS as JSON, or its URL; issuer and audience the tokens must carry. */
  JWT_JWKS?: string;
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
}

/** Limits with defaults in code; wrangler.toml [vars] may set them (README: "Edge limits"). */
interface Limits {
  /** Longest accepted JWT lifetime, seconds (default 86400). */
  JWT_MAX_LIFETIME_SECONDS?: string;
  /** Clock skew tolerated on a JWT's exp, nbf and iat, seconds (default 60). */
  JWT_CLOCK_SKEW_SECONDS?: string;
  /** Longest call to the GPU service's /v1/fuse, answer included, seconds (default 600). */
  GPU_TIMEOUT_SECONDS?: string;
  /** A queued/processing capture without progress this long is re-sent, seconds (default 900). */
  CAPTURE_DEADLINE_SECONDS?: string;
  /** Re-sends before such a capture fails (default 3). */
  CAPTURE_REDRIVE_ATTEMPTS?: string;
  /** Lifetime of a capture never finalized, seconds (default 86400). */
  CAPTURE_TTL_SECONDS?: string;
  /** Lifetime of a finished capture and its result, seconds (default 30 days). */
  RESULT_RETENTION_SECONDS?: string;
  /** Unfinalized captures one principal may hold (default 20). */
  MAX_OPEN_CAPTURES_PER_PRINCIPAL?: string;
  /** Declared frame bytes one principal may hold (default 2 GiB). */
  MAX_STORED_BYTES_PER_PRINCIPAL?: string;
}

/** The worker's bindings: `wrangler types` (worker-configuration.d.ts) plus the secrets. */
export type WorkerEnv = Omit<Env, "CAPTURES" | "UPLOADS" | "QUOTAS" | "JOBS"> &
  Secrets &
  Limits & {
    CAPTURES: DurableObjectNamespace<CaptureObject>;
    UPLOADS: DurableObjectNamespace<UploadObject>;
    QUOTAS: DurableObjectNamespace<PrincipalQuota>;
    JOBS: Queue<JobMessage>;
    /** Optional service binding to the GPU service (else GPU_SERVICE_URL over the network). */
    GPU_SERVICE?: Fetcher;
  };

/** A queue message carries keys, never bytes. */
export interface JobMessage {
  captureId: string;
  /** The capture's generation and content address when it was finalized: the job is bound to them. */
  generation: number;
  address: string;
}

export type AppEnv = { Bindings: WorkerEnv; Variables: { principal: string } };
