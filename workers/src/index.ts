import { createApp } from "./app.ts";
import type { JobMessage, WorkerEnv } from "./env.ts";
import { consumeJobs } from "./queue/consumeJobs.ts";

export { CaptureObject } from "./captureObject.ts";
export { UploadObject } from "./uploadObject.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch, env, _ctx) => consumeJobs(batch, env),
} satisfies ExportedHandler<WorkerEnv, JobMessage>;
