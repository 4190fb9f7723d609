import { setTimeout as sleep } from "node:timers/promises";
import { signedFetch } from "../../gpu-service/src/testing/signedFetch.ts";

let nonce = 0;

/**
 * The GPU service's Prometheus text, fetched with an HMAC-signed GET. A fresh query string per
 * call keeps two scrapes in the same second from looking like a replayed signature.
 */
export async function gpuMetrics(gpuUrl: string, secret: string): Promise<string> {
  const res = await signedFetch(gpuUrl, secret, `/metrics?scrape=${++nonce}`);
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${await res.text()}`);
  return res.text();
}

/** Samples of one metric: `{ '{outcome="done"}': 1, ... }` ("" for a sample without labels). */
export function metricSamples(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line.trim());
    if (m && m[1] === name) out[m[2] ?? ""] = Number(m[3]);
  }
  return out;
}

/** Polls the GPU service's metrics until `until` holds for `name`'s samples. */
export async function waitForMetric(
  gpuUrl: string,
  secret: string,
  name: string,
  until: (samples: Record<string, number>) => boolean,
  timeoutMs: number,
): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = metricSamples(await gpuMetrics(gpuUrl, secret), name);
    if (until(samples)) return samples;
    if (Date.now() > deadline)
      throw new Error(`${name} never matched in ${timeoutMs} ms: ${JSON.stringify(samples)}`);
    await sleep(50);
  }
}
