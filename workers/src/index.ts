import { env } from "cloudflare:workers";
import { createApp } from "./app.ts";
import type { JobMessage, WorkerEnv } from "./env.ts";
import { authConfig } from "./middleware/authConfig.ts";
import { consumeJobs } from "./queue/consumeJobs.ts";

export { CaptureObject } from "./captureObject.ts";
export { PrincipalQuota } from "./quotaObject.ts";
export { UploadObject } from "./uploadObject.ts";

// Configuration is checked at startup: a malformed JWT_JWKS, or staging/production without
// JWT_ISSUER and JWT_AUDIENCE, stops the worker here (wrangler dev/deploy report the error)
// instead of answering every request with a 500.
authConfig(env as unknown as WorkerEnv);

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch, env, _ctx) => consumeJobs(batch, env),
} satisfies ExportedHandler<WorkerEnv, JobMessage>;
