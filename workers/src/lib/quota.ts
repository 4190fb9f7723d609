import { HybridDepthError } from "#shared/errors.ts";
import type { CreateCapture } from "#shared/service/uploadSchema.ts";
import type { WorkerEnv } from "../env.ts";
import { captureLimits } from "./limits.ts";

/** The principal's quota object. */
export const quotaStub = (env: WorkerEnv, principal: string) =>
  env.QUOTAS.get(env.QUOTAS.idFromName(principal));

/** Reserves a new capture against its principal's limits, or throws the 429/413 that says which. */
export async function reserveCapture(
  env: WorkerEnv,
  principal: string,
  captureId: string,
  meta: CreateCapture,
): Promise<void> {
  const bytes = meta.frames.reduce((s, f) => s + f.bytes, 0);
  const limits = captureLimits(env);
  const { maxOpenCaptures, maxStoredBytes } = limits;
  const r = await quotaStub(env, principal).reserve(captureId, bytes, {
    maxOpenCaptures,
    maxStoredBytes,
  });
  if (r.ok) return;
  throw r.kind === "TOO_MANY_OPEN_CAPTURES"
    ? new HybridDepthError(
        r.kind,
        `${r.totals.open} unfinalized captures, the limit is ${maxOpenCaptures}: finalize or delete one first`,
      )
    : new HybridDepthError(
        r.kind,
        `this capture declares ${bytes} bytes; ${r.totals.bytes} of ${maxStoredBytes} are held already: delete captures to free them`,
      );
}
