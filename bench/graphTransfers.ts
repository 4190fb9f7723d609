/**
 * Host↔device bytes of one job on the graph path (every fusion stage a graph, the CUDA plan, run
 * here on the CPU provider: the bytes do not depend on it), from graphSession's transfer counter.
 * One pipeline thread, so every graph run is counted on this one.
 */
import { loadCaptureDir } from "../gpu-service/src/capture/loadCaptureDir.ts";
import { graphTransfers, resetGraphTransfers } from "../gpu-service/src/graphs/graphSession.ts";
import { runPipeline } from "../gpu-service/src/pipeline/runPipeline.ts";
import type { Prior } from "../gpu-service/src/prior/priorRunner.ts";

const MB = 1e6;

export async function printJobTransfers(label: string, dir: string, prior?: Prior): Promise<void> {
  const source = await loadCaptureDir(dir);
  resetGraphTransfers();
  const out = await runPipeline(source, {
    stage: prior ? "full" : "dff",
    ...(prior ? { prior } : {}),
    fusion: "graph",
    threads: 1,
  });
  const t = graphTransfers();
  const { width: w, height: h } = out.result;
  const frames = out.result.focusDistancesM.length;
  const per = Object.entries(t.byGraph)
    .map(([graph, bytes]) => `${graph} ${(bytes / MB).toFixed(1)}`)
    .join(", ");
  console.log(
    `${label}: ${frames} × ${w}×${h}, ${t.runs} graph runs, up ${(t.upload / MB).toFixed(1)} MB + down ${(t.download / MB).toFixed(1)} MB = ${((t.upload + t.download) / MB).toFixed(1)} MB (${((t.upload + t.download) / (4 * w * h * frames)).toFixed(2)} float planes a frame; by graph, MB: ${per})`,
  );
}
