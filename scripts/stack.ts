/**
 * `npm start`: the whole product on this machine, no cloud account, no GPU. Pulls the best prior
 * it can, starts the GPU service (CPU) and the edge worker (`wrangler dev`: local R2, Durable
 * Objects, Queues) wired with freshly generated secrets, sends the bundled sample through the
 * real API with the client SDK, saves the depth, and prints where everything is. Ctrl-C stops it.
 */
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { HybridDepthClient } from "../shared/src/client/index.ts";
import { encodeNpyFloat32 } from "../shared/src/format/npy.ts";
import { loadCaptureForUpload } from "./captureUpload.ts";
import { type LocalStack, startLocalStack } from "./localStack.ts";

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError("a port number (1–65535)");
  return n;
};

const program = new Command("stack")
  .description("run the local stack (edge worker + GPU service) and send a capture through it")
  .option("--port <n>", "edge worker port", port, 8787)
  .option("--gpu-port <n>", "GPU service port", port, 8080)
  .option("--sample <dir>", "capture bundle to send", "samples/redwood-00000")
  .option("--out <dir>", "where the depth of the sample goes", "out/stack")
  .option("--once", "stop after the sample instead of serving until Ctrl-C")
  .parse();
const opts = program.opts<{
  port: number;
  gpuPort: number;
  sample: string;
  out: string;
  once?: boolean;
}>();

function step(msg: string): void {
  process.stdout.write(`\n▸ ${msg}\n`);
}

async function sendSample(stack: LocalStack): Promise<void> {
  const { meta, frames } = await loadCaptureForUpload(resolve(opts.sample));
  const client = new HybridDepthClient({ baseUrl: stack.edge.url, apiKey: stack.apiKey });
  const started = performance.now();
  const capture = await client.createCapture(meta);
  process.stdout.write(`  capture ${capture.id}: uploading ${frames.length} frames\n`);
  await Promise.all(frames.map((bytes, i) => capture.uploadFrame(i, new Uint8Array(bytes))));
  const fin = await capture.finalize();
  process.stdout.write(`  finalized: ${fin.state}${fin.cacheHit ? " (cache hit)" : ""}\n`);
  let last = "";
  await capture.waitForDepth({
    onProgress: (s: { state: string }) => {
      if (s.state === last) return;
      last = s.state;
      process.stdout.write(`  ${last}\n`);
    },
  });
  const depth = await capture.getDepth("f32");
  const result = await capture.getDepth("json");
  const out = resolve(opts.out);
  await mkdir(out, { recursive: true });
  await writeFile(
    join(out, "depth.npy"),
    encodeNpyFloat32(depth.data, [depth.height, depth.width]),
  );
  await writeFile(join(out, "depth.png"), await capture.getDepth("png16"));
  await writeFile(join(out, "preview.png"), await capture.getDepth("preview"));
  await writeFile(join(out, "result.json"), `${JSON.stringify(result, null, 2)}\n`);
  const ms = Math.round(performance.now() - started);
  let min = Infinity;
  let max = 0;
  for (const d of depth.data) if (d > 0) [min, max] = [Math.min(min, d), Math.max(max, d)];
  process.stdout.write(
    `  done in ${ms} ms: ${depth.width}×${depth.height}, depth ${min.toFixed(2)}–${max.toFixed(2)} m\n`,
  );
  process.stdout.write(`  saved ${out}/{depth.npy,depth.png,preview.png,result.json}\n`);
  process.stdout.write(
    `  from the API: ${stack.edge.url}/v1/captures/${capture.id}/depth?format=f32|npy|png16|preview|json\n`,
  );
}

step(
  "models: the best prior available (pydnet-pp from ../shared/models, Depth Anything V2 when online)",
);
const pull = spawnSync(process.execPath, ["bin/hybriddepth.mjs", "models", "pull", "--optional"], {
  stdio: "inherit",
});
if (pull.status !== 0) process.stdout.write("  no prior: the service runs depth from focus only\n");

step(
  `starting the GPU service (:${opts.gpuPort}, CPU) and the edge worker (wrangler dev, :${opts.port})`,
);
let stack: LocalStack;
try {
  stack = await startLocalStack({ edgePort: opts.port, gpuPort: opts.gpuPort });
} catch (e) {
  process.stderr.write(
    `stack: could not start: ${(e as Error).message.split("\n")[0]}\n(is something else on port ${opts.port} or ${opts.gpuPort}? pass --port / --gpu-port)\n`,
  );
  process.exit(1);
}
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    step("stopping");
    await stack.stop();
  }
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

try {
  step(`sending ${opts.sample} through the API`);
  await sendSample(stack);
} catch (e) {
  process.stderr.write(`stack: ${(e as Error).message}\n`);
  await stop(1);
}
step("ready");
process.stdout.write(`  preview page  ${stack.edge.url}/   (API key: ${stack.apiKey})\n`);
process.stdout.write(
  `  API           ${stack.edge.url}/v1/captures   (Authorization: Bearer ${stack.apiKey})\n`,
);
process.stdout.write(`  GPU service   ${stack.gpu.url}/v2/health/ready\n`);
if (opts.once) await stop(0);
process.stdout.write("  Ctrl-C stops everything\n");
