/**
 * The GPU service under abuse, as a real process on loopback: what one client can make it hold
 * in memory or compute. Memory is the process's peak RSS (VmHWM, reset through clear_refs just
 * before each attack) against a bound well below what the attack would cost if buffered.
 */
import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GpuService, startGpuService } from "../../../scripts/localStack.ts";
import { findGpuServicePid } from "../../../test/helpers/load.ts";

const SECRET = "limits-test-secret-0123456789";
const MiB = 1024 * 1024;

/** The process's peak RSS since the last reset, bytes. */
async function peakRss(pid: number): Promise<number> {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(await readFile(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmHWM for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Resets the peak to the current RSS ("5" to clear_refs, Linux ≥ 4.0); returns that. */
async function resetPeak(pid: number): Promise<number> {
  await writeFile(`/proc/${pid}/clear_refs`, "5");
  return peakRss(pid);
}

/** POSTs `body`; the status, or "reset" when the server closed before the client sent it all. */
async function post(url: string, body: Uint8Array, headers: Record<string, string> = {}) {
  try {
    const r = await fetch(url, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> });
    return { status: r.status, error: ((await r.json()) as { error: { code: string } }).error };
  } catch {
    return { status: "reset" as const, error: undefined };
  }
}

let gpu: GpuService;
let pid: number;

beforeAll(async () => {
  gpu = await startGpuService({ GPU_SERVICE_SECRET: SECRET, LOG_LEVEL: "warn" });
  pid = await findGpuServicePid(gpu.port);
}, 120_000);
afterAll(async () => {
  await gpu?.stop();
});

describe("GPU service memory under unauthenticated bodies", () => {
  it("refuses unsigned bodies on their headers, before reading them", async () => {
    const big = new Uint8Array(100 * MiB).fill(7);
    const base = await resetPeak(pid);
    const answers = await Promise.all([
      // No signature headers at all, three at once.
      ...[0, 1, 2].map(() =>
        post(`${gpu.url}/v1/fuse/inline`, big, {
          "content-type": "multipart/form-data; boundary=x",
        }),
      ),
      // Well-formed fresh headers with a made-up MAC, on the JSON route: over its small limit.
      post(`${gpu.url}/v1/fuse`, big, {
        "content-type": "application/json",
        "x-hd-timestamp": String(Math.floor(Date.now() / 1000)),
        "x-hd-signature": `v2=${"0".repeat(64)}`,
      }),
    ]);
    const grew = (await peakRss(pid)) - base;
    for (const a of answers.slice(0, 3)) {
      if (a.status !== "reset") {
        expect(a.status).toBe(401);
        expect(a.error?.code).toBe("unauthorized");
      }
    }
    if (answers[3]!.status !== "reset") expect(answers[3]!.error?.code).toBe("payload_too_large");
    // 400 MiB were sent; buffering them would have grown the peak by at least that much.
    expect(grew, `peak RSS grew by ${(grew / MiB).toFixed(0)} MiB`).toBeLessThan(48 * MiB);
  });
});
