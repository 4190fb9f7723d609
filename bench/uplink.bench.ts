/**
 * The phone's uplink: bytes per capture of the real 12 MP stack (5 × 4080×3072 JPEG) as taken
 * and as the SDK sends it after on-device downscaling to the work size, and the end-to-end time
 * (SDK → edge worker in wrangler dev → queue → GPU service → SDK) through a loopback proxy that
 * limits what the client sends to 20 Mbit/s (answers pass at full speed), for the bundled
 * sample and the 12 MP stack without and with downscaling, all in this run. Node has no canvas:
 * the SDK is given the Node resampler (sharp), as a React Native app gives its own; its time on
 * this machine's CPU is shown apart (a phone's canvas draws on its GPU).
 */
import { join } from "node:path";
import { sharpDownscaler } from "../gpu-service/src/io/sharpDownscaler.ts";
import { loadCaptureForUpload } from "../scripts/captureUpload.ts";
import { startLocalStack } from "../scripts/localStack.ts";
import { type FrameDownscaler, HybridDepthClient } from "../shared/src/client/index.ts";
import { downscaleFrames } from "../shared/src/client/upload/downscaleFrames.ts";
import { median } from "../shared/src/math/stats.ts";
import { startThrottleProxy } from "../test/helpers/faultsProxy.ts";
import { BUNDLED_SAMPLE, hasSharedData, SHARED_DATA } from "../test/helpers/sharedData.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const UPLINK_BITS_PER_SECOND = 20e6;
const REAL = "focal-real/pixel6pro-desk";
const MB = 1e6;

type Capture = Awaited<ReturnType<typeof loadCaptureForUpload>>;
/** The capture with `tag` extra bytes after each frame's end: same pixels, a new address. */
function tagged(c: Capture, tag: number): Capture {
  const frames = c.frames.map((f) => Buffer.concat([f, Buffer.alloc(tag + 1, tag)]));
  return {
    meta: { ...c.meta, frames: c.meta.frames.map((f, i) => ({ ...f, bytes: frames[i]!.length })) },
    frames,
  };
}
/** A downscaler that tags its output likewise (its output is otherwise the same every round). */
const taggedDownscaler =
  (inner: FrameDownscaler, tag: number): FrameDownscaler =>
  async (frame, type) => {
    const out = await inner(frame, type);
    const body = out.body as Uint8Array;
    return { ...out, body: Buffer.concat([body, Buffer.alloc(tag + 1, tag)]) };
  };

const samples: { name: string; capture: Capture }[] = [
  { name: "bundled sample (5 × 640×480)", capture: await loadCaptureForUpload(BUNDLED_SAMPLE) },
];
if (hasSharedData(REAL))
  samples.push({
    name: "12 MP stack (5 × 4080×3072)",
    capture: await loadCaptureForUpload(join(SHARED_DATA, REAL)),
  });

const bytesOf = (frames: readonly (Uint8Array | Blob)[]) =>
  frames.reduce((s, f) => s + (f instanceof Uint8Array ? f.byteLength : f.size), 0);
const down = sharpDownscaler();
console.log("upload bytes per capture:");
for (const s of samples) {
  const sent = await downscaleFrames(s.capture.meta, s.capture.frames, down);
  const [a, b] = [bytesOf(s.capture.frames), bytesOf(sent.frames)];
  console.log(
    `  ${s.name.padEnd(30)} as taken ${(a / MB).toFixed(2)} MB, downscaled ${(b / MB).toFixed(2)} MB (${(b / a).toFixed(2)} of it)`,
  );
}

const stack = await startLocalStack();
const proxy = await startThrottleProxy(stack.edge.port, UPLINK_BITS_PER_SECOND / 8, undefined, {
  shared: true,
});
let tag = 0;
try {
  const client = new HybridDepthClient({ baseUrl: proxy.url, apiKey: stack.apiKey });
  const rows: Record<
    string,
    {
      "uplink MB": string;
      "median ms": number;
      "of it downscaling ms": number;
      "without it ms": number;
    }
  > = {};
  for (const s of samples) {
    for (const downscale of [false, true]) {
      if (downscale && s === samples[0]) continue; // 640×480 fits the work size: nothing to do
      const times: number[] = [];
      const shrinkMs: number[] = [];
      let sentBytes = 0;
      // A warm-up round first (JIT, the GPU service's threads and model), then timed ones.
      for (let r = 0; r <= ROUNDS; r++) {
        const c = tagged(s.capture, ++tag);
        const before = proxy.forwarded();
        const t = performance.now();
        let shrink = 0;
        const timed: FrameDownscaler = async (f, type) => {
          const t0 = performance.now();
          const out = await taggedDownscaler(down, tag)(f, type);
          shrink += performance.now() - t0;
          return out;
        };
        await client.fuse(c.meta, c.frames, {
          downscale: downscale ? timed : false,
          pollIntervalMs: 50,
        });
        if (r > 0) {
          times.push(performance.now() - t);
          shrinkMs.push(shrink);
        }
        sentBytes = proxy.forwarded() - before;
      }
      const total = median(times);
      const shrink = median(shrinkMs);
      rows[`${s.name}, ${downscale ? "downscaled on the device" : "as taken"}`] = {
        "uplink MB": (sentBytes / MB).toFixed(2),
        "median ms": Math.round(total),
        "of it downscaling ms": Math.round(shrink),
        "without it ms": Math.round(total - shrink),
      };
    }
  }
  console.log(
    `\nend to end through the local stack, client uplink limited to ${UPLINK_BITS_PER_SECOND / 1e6} Mbit/s, median of ${ROUNDS} (each a new capture, no cache hits)`,
  );
  console.table(rows);
  const keys = Object.keys(rows);
  if (keys.length === 3) {
    const [asTaken, downscaled] = [rows[keys[1]!]!, rows[keys[2]!]!];
    console.log(
      `12 MP end to end, downscaled ÷ as taken: ${(downscaled["median ms"] / asTaken["median ms"]).toFixed(2)}; leaving out the downscaling itself (sharp here, the phone's GPU canvas there): ${(downscaled["without it ms"] / asTaken["median ms"]).toFixed(2)}`,
    );
  }
} finally {
  await proxy.close();
  await stack.stop();
}
