import sharp from "sharp";
import { readFile } from "node:fs/promises";
import { loadCaptureDir } from "./gpu-service/src/capture/loadCaptureDir.ts";
import { runPipeline } from "./gpu-service/src/pipeline/runPipeline.ts";
import { resolveModel } from "./gpu-service/src/prior/modelStore.ts";
import { loadPrior } from "./gpu-service/src/prior/priorRunner.ts";
const dir = "../shared/data/focal-real/pixel6pro-desk";
const src = await loadCaptureDir(dir);
const model = await resolveModel();
const prior = model ? await loadPrior(model) : undefined;
const files = src.capture.frames.map((f) => `${dir}/${f.file}`);
const baseline = async () => { const t = performance.now(); for (const f of files) await sharp(await readFile(f)).raw().toBuffer(); return performance.now() - t; };
for (const threads of [1, 2, 1, 2]) {
  const b = await baseline();
  const t = performance.now();
  const out = await runPipeline(src, { threads, ...(prior ? { prior } : {}) });
  const total = performance.now() - t;
  console.log(threads, "baseline", b.toFixed(0), "total", total.toFixed(0), (total / b).toFixed(2), JSON.stringify(out.result.timingsMs), out.result.width);
}
process.exit(0);
