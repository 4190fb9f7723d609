import { readdir, readFile, writeFile } from "node:fs/promises";
import { signedFetch } from "../../gpu-service/src/testing/signedFetch.ts";

/**
 * A copy of a JPEG with a comment segment (COM, 0xFFFE) right after SOI: the same pixels, other
 * bytes, so another content address (no cache hit) at no re-encoding cost.
 */
export function withJpegComment(jpeg: Uint8Array, comment: string): Uint8Array {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error("not a JPEG (no SOI)");
  const text = new TextEncoder().encode(comment);
  if (text.byteLength > 65533) throw new Error("JPEG comment too long");
  const segment = new Uint8Array(4 + text.byteLength);
  segment.set([0xff, 0xfe, (text.byteLength + 2) >> 8, (text.byteLength + 2) & 0xff]);
  segment.set(text, 4);
  const out = new Uint8Array(jpeg.byteLength + segment.byteLength);
  out.set(jpeg.subarray(0, 2));
  out.set(segment, 2);
  out.set(jpeg.subarray(2), 2 + segment.byteLength);
  return out;
}

/** The q-quantile (0..1) of `values`, nearest rank. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function readProc(pid: number, file: string): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined; // gone, or not ours to read
  }
}

/**
 * The pid of the GPU service child that localStack started on `port`: the process whose command
 * line runs bin/gpu-service.mjs and whose environment says PORT=<port> (several stacks may run
 * on this machine at once, so the script name alone is not enough).
 */
export async function findGpuServicePid(port: number): Promise<number> {
  const found: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const cmdline = await readProc(pid, "cmdline");
    if (!cmdline?.split("\0").some((a) => a.endsWith("bin/gpu-service.mjs"))) continue;
    const environ = (await readProc(pid, "environ"))?.split("\0") ?? [];
    if (environ.includes(`PORT=${port}`)) found.push(pid);
  }
  if (found.length !== 1)
    throw new Error(`expected one gpu-service process on port ${port}, found [${found}]`);
  return found[0]!;
}

/** VmRSS of `pid` in bytes; undefined once the process is gone. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec((await readProc(pid, "status")) ?? "");
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The process's peak RSS (VmHWM) since it started or since the last `resetPeakRss`, bytes. */
export async function peakRss(pid: number): Promise<number> {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(await readFile(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmHWM for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Resets the peak to the current RSS ("5" to clear_refs, Linux ≥ 4.0); returns that. */
export async function resetPeakRss(pid: number): Promise<number> {
  await writeFile(`/proc/${pid}/clear_refs`, "5");
  return peakRss(pid);
}

export interface RssSample {
  atMs: number;
  bytes: number;
}

/** Samples a process's RSS every `intervalMs` until stopped. */
export function sampleRss(pid: number, intervalMs = 250): { stop: () => Promise<RssSample[]> } {
  const samples: RssSample[] = [];
  const t0 = performance.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const bytes = await rssBytes(pid);
      if (bytes !== undefined) samples.push({ atMs: performance.now() - t0, bytes });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** Prometheus text exposition → `name{labels}` → value (help/type lines dropped). */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^(\S+?(?:\{.*\})?)\s+(\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** The GPU service's metrics (HMAC-signed GET /metrics). */
export async function gpuMetrics(gpuUrl: string, secret: string): Promise<Map<string, number>> {
  const res = await signedFetch(gpuUrl, secret, "/metrics");
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${await res.text()}`);
  return parsePrometheus(await res.text());
}
