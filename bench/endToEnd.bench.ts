/**
 * End to end against embedded, for the same capture: the bundled sample through the local
 * stack (client SDK → edge worker in wrangler dev → queue → GPU service → R2 → SDK) against the
 * embedded CLI (`hybriddepth fuse`, a process per capture) and against the pipeline already warm
 * in-process, all measured in this run. Each round's capture differs in bytes after the JPEG
 * end marker (same pixels, new content address), so none is a cache hit; then one repeat is.
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import { resolveModel } from "../gpu-service/src/prior/modelStore.ts";
import { loadPrior } from "../gpu-service/src/prior/priorRunner.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { loadCaptureForUpload } from "../scripts/captureUpload.ts";
import { startLocalStack } from "../scripts/localStack.ts";
import { HybridDepthClient } from "../shared/src/client/index.ts";
import { median } from "../shared/src/math/stats.ts";
import { BUNDLED_SAMPLE } from "../test/helpers/sharedData.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const bundle = JSON.parse(await readFile(join(BUNDLED_SAMPLE, "capture.json"), "utf8")) as {
  frames: { file: string; focusDistance: number }[];
};

/** A copy of the sample whose frames end in `round` extra bytes after EOI, ready to upload. */
async function variant(round: number) {
  const dir = join(await tempDir("hd-bench-e2e-"), `round-${round}`);
  await mkdir(dir, { recursive: true });
  await copyFile(join(BUNDLED_SAMPLE, "capture.json"), join(dir, "capture.json"));
  for (const f of bundle.frames) {
    const bytes = await readFile(join(BUNDLED_SAMPLE, f.file));
    await writeFile(join(dir, f.file), Buffer.concat([bytes, Buffer.alloc(round + 1, round)]));
  }
  return { dir, ...(await loadCaptureForUpload(dir)) };
}

const upload = (frames: Buffer[]) => frames.map((f) => new Uint8Array(f));

const model = await resolveModel();
const prior = model ? await loadPrior(model) : undefined;
const stack = await startLocalStack();
try {
  const client = new HybridDepthClient({ baseUrl: stack.edge.url, apiKey: stack.apiKey });
  const warm = await variant(1000);
  await client.fuse(warm.meta, upload(warm.frames));
  await runPipeline(await loadCaptureDir(warm.dir), { stage: "full", ...(prior ? { prior } : {}) });

  const e2e: number[] = [];
  const cli: number[] = [];
  const inProcess: number[] = [];
  let last: Awaited<ReturnType<typeof variant>> | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    const v = await variant(r);
    let t = performance.now();
    await client.fuse(v.meta, upload(v.frames));
    e2e.push(performance.now() - t);
    t = performance.now();
    const run = spawnSync(process.execPath, [
      "bin/hybriddepth.mjs",
      "fuse",
      v.dir,
      "--out",
      join(v.dir, "out"),
    ]);
    if (run.status !== 0) throw new Error(`cli: ${run.stderr}`);
    cli.push(performance.now() - t);
    t = performance.now();
    await runPipeline(await loadCaptureDir(v.dir), { stage: "full", ...(prior ? { prior } : {}) });
    inProcess.push(performance.now() - t);
    last = v;
  }
  const t = performance.now();
  const hit = await client.fuse(last!.meta, upload(last!.frames));
  const cacheHitMs = performance.now() - t;
  if (!hit.finalize.cacheHit) throw new Error("the repeat was not a cache hit");

  const m = { e2e: median(e2e), cli: median(cli), inProcess: median(inProcess) };
  console.log(
    `bundled sample (640×480, 5 frames, stage full, ${prior ? prior.name : "no prior"}), medians of ${ROUNDS}`,
  );
  console.table({
    "via worker + GPU service (SDK)": { ms: Math.round(m.e2e) },
    "embedded CLI (hybriddepth fuse)": { ms: Math.round(m.cli) },
    "embedded pipeline, warm in-process": { ms: Math.round(m.inProcess) },
    "cache hit via worker (SDK)": { ms: Math.round(cacheHitMs) },
  });
  console.log(`end to end ÷ embedded CLI:            ${(m.e2e / m.cli).toFixed(2)}   (goal ≤ 1.2)`);
  console.log(`end to end ÷ warm in-process pipeline: ${(m.e2e / m.inProcess).toFixed(2)}`);
  console.log(`cache hit ÷ embedded CLI:             ${(cacheHitMs / m.cli).toFixed(2)}`);
} finally {
  await stack.stop();
}
