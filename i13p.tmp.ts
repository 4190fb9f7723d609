import { readFile } from "node:fs/promises";
import { frameRunner, INLINE_RUNNER } from "./gpu-service/src/parallel/framePool.ts";
import { processFrame, sharedReference } from "./gpu-service/src/pipeline/frameWork.ts";
const dir = "../shared/data/focal-real/pixel6pro-desk";
const names = ["image_1_0.35.jpg","image_2_0.50.jpg","image_3_0.90.jpg","image_4_1.33.jpg","image_5_2.21.jpg"];
const bytes = await Promise.all(names.map((n) => readFile(`${dir}/${n}`)));
const work = { width: 2040, height: 1536 };
let jobN = 0;
async function run(runner: any, seq: boolean) {
  const job = { id: `j${jobN++}`, work, maxFramePixels: 64e6, windowRadius: 26, register: true, reference: sharedReference(work) };
  const t = performance.now();
  const ms = { decode: 0, registration: 0, dff: 0 };
  const ref = await runner.run({ job, bytes: bytes[2], name: "r", isReference: true });
  const ps = [];
  for (const k of [0, 1, 3, 4]) { const p = runner.run({ job, bytes: bytes[k], name: "f", isReference: false }); if (seq) ps.push(await p); else ps.push(p); }
  const outs = [ref, ...(await Promise.all(ps))];
  for (const o of outs) for (const s of ["decode","registration","dff"] as const) ms[s] += o.ms[s];
  return [(performance.now() - t).toFixed(0), JSON.stringify(Object.fromEntries(Object.entries(ms).map(([k,v]) => [k, Math.round(v)])))];
}
const pool = frameRunner(2);
for (let r = 0; r < 3; r++) {
  console.log("inline seq", ...(await run(INLINE_RUNNER, true)));
  console.log("pool2     ", ...(await run(pool, false)));
  console.log("pool2 seq ", ...(await run(pool, true)));
}
process.exit(0);
