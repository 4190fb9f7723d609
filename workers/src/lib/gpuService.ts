import { signRequest } from "#shared/auth/requestSignature.ts";
import { priorIdentity } from "#shared/service/priorIdentity.ts";
import type { WorkerEnv } from "../env.ts";

/** A request to the GPU service: the service binding when configured, else the network. */
export function gpuFetch(env: WorkerEnv, path: string, init?: RequestInit): Promise<Response> {
  const url = new URL(path, env.GPU_SERVICE_URL).toString();
  // The global fetch is called unbound (workerd refuses it as a method of another object).
  return env.GPU_SERVICE ? env.GPU_SERVICE.fetch(url, init) : fetch(url, init);
}

/** How long finalize waits for the GPU service to name its prior before treating it as unknown. */
const PRIOR_LOOKUP_MS = 2000;

/**
 * The prior the GPU service runs now (its `/v2/models` metadata), so a cached result computed by
 * another prior is not served. null when there is none or the service does not answer: then no
 * result above depth from focus counts as cached, and the job runs.
 */
export async function currentPrior(env: WorkerEnv): Promise<string | null> {
  try {
    // Signed like every call to the service; a nonce keeps concurrent lookups from reading as replays.
    const path = `/v2/models/hybriddepth?n=${crypto.randomUUID()}`;
    const res = await gpuFetch(env, path, {
      headers: { ...(await signRequest(env.GPU_SERVICE_SECRET, { method: "GET", path })) },
      signal: AbortSignal.timeout(PRIOR_LOOKUP_MS),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    const meta = (await res.json()) as { prior?: { model?: unknown; sha256?: unknown } };
    return priorIdentity(meta.prior?.model, meta.prior?.sha256);
  } catch {
    return null;
  }
}
