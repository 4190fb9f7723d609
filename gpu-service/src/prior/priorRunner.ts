import type * as ort from "onnxruntime-node";
import sharp from "sharp";
import { resizeBilinear } from "#shared/image/resample.ts";
import { type AnyRgbImage, floatToBytes } from "#shared/image/types.ts";
import { type ModelSpec, modelInputSize, toRelativeInverseDepth } from "#shared/models/registry.ts";
import type { BandRunner } from "#shared/pipeline/rowBands.ts";
import { defaultThreads } from "../parallel/threads.ts";
import { type ResolvedModel, sha256File } from "./modelStore.ts";
import { openHere, type WireTensor } from "./priorSession.ts";
import { PriorThread } from "./priorThread.ts";

/** A loaded single-image depth prior. */
export interface Prior {
  readonly name: string;
  /** sha256 of the weights file the session was built from: part of a result's identity. */
  readonly sha256?: string;
  /** Execution provider the session really runs on. */
  readonly provider: string;
  /**
   * Relative inverse depth (larger = nearer) at the image's size. With `bands`: resized to that
   * size in their row bands, into their memory when the prior can (so that later bands read it
   * without a copy); a batch of several images through `batchingPrior` cannot, so a caller that
   * needs that memory checks (`BandRunner.share` copies only what is not there).
   */
  infer(rgb: AnyRgbImage, bands?: BandRunner): Promise<Float32Array>;
  /** Several images in one run when the model takes batches (same size), else one by one. */
  inferBatch(images: readonly AnyRgbImage[]): Promise<Float32Array[]>;
  /** Largest batch the model takes in one run (1 when its batch dimension is fixed). */
  readonly maxBatch: number;
  /** CPU threads one inference keeps busy: its intra-op threads on the CPU, 1 on a GPU. */
  readonly cpuThreads: number;
  /**
   * It runs off the calling thread (on one of its own), so a pipeline can work beside it while
   * it leaves some of the pool's threads free.
   */
  readonly ownThread: boolean;
}

export type Provider = "cuda" | "cpu";

/** Providers to try, best first: CUDA when asked for (HYBRIDDEPTH_PROVIDERS=cuda,cpu), else CPU. */
export function requestedProviders(): Provider[] {
  const env = process.env.HYBRIDDEPTH_PROVIDERS?.split(",").map((s) => s.trim()) ?? ["cpu"];
  return env.filter((p): p is Provider => p === "cuda" || p === "cpu");
}

const sessions = new Map<string, Promise<Prior>>();

/**
 * Loads a model once per process (per spec, file, providers and CPU threads) and reuses its
 * session. `threads`: the CPU session's intra-op threads (default `defaultThreads()`).
 */
export function loadPrior(
  model: ResolvedModel,
  providers: Provider[] = requestedProviders(),
  threads = defaultThreads(),
): Promise<Prior> {
  const key = `${JSON.stringify(model.spec)}|${model.path}|${providers.join(",")}|${threads}`;
  let p = sessions.get(key);
  if (!p) {
    p = createPrior(model, providers, threads);
    sessions.set(key, p);
    p.catch(() => sessions.delete(key));
  }
  return p;
}

/**
 * The prior's session options per provider. On the CPU:
 *  - no onnxruntime memory pattern (one pre-planned block per input shape, on top of its arena):
 *    it held ≈ 100 MiB more after pydnet-pp's first inferences at 640×448 (276–292 against
 *    386–397 MiB resident, 3 fresh processes each) for no speed (146–152 against 151–153 ms an
 *    inference); without it the arena reuses its chunks tensor by tensor;
 *  - `threads` intra-op threads, by default as many as the process's pool (HYBRIDDEPTH_THREADS,
 *    else the cores it may use). Left unset, onnxruntime takes half of `hardware_concurrency()`
 *    on Linux: one thread on a 2-core VM, where an inference took 147 ms on one core against
 *    83 ms on both. A cgroup's CPU quota is invisible to both counts: set HYBRIDDEPTH_THREADS;
 *  - threads that sleep when the inference is done instead of spinning for more work: spinning,
 *    they took the cores from what runs next (the alignment, the refinement, the pool's frames),
 *    640×480 whole runs 219–230 against 208–210 ms (5 frames), 255–263 against 254–262 (10).
 * CUDA keeps the defaults (its pattern is device memory, not measured here).
 */
export function priorSessionOptions(
  provider: Provider,
  threads = defaultThreads(),
): ort.InferenceSession.SessionOptions {
  if (provider !== "cpu") return {};
  return {
    enableMemPattern: false,
    intraOpNumThreads: threads,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
}

async function createPrior(
  { spec, path }: ResolvedModel,
  providers: Provider[],
  threads: number,
): Promise<Prior> {
  // A prior that leaves some of the process's threads free runs on a thread of its own, so that
  // the pipeline can work beside it (runPipeline.ts); one that takes every core stays here: on
  // its own thread it made 640×480 jobs 1.5–5% slower (2 cores, 50 alternating runs).
  const options = (p: Provider) => priorSessionOptions(p, threads);
  const ownThread = providers[0] !== "cpu" || threads < defaultThreads();
  const s = ownThread
    ? await PriorThread.open(path, providers, options)
    : await openHere(path, providers, options);
  const { provider } = s;
  const inputName = spec.input.name ?? s.inputNames[0]!;
  const outputName = spec.output.name ?? s.outputNames[0]!;
  const meta = s.inputs.find((m) => m.name === inputName);
  const half = meta?.type === "float16";
  // A symbolic (or absent) first dimension means the graph takes batches; pydnet-pp's is fixed at 1.
  const batchable = meta?.shape !== undefined && typeof meta.shape[0] !== "number";
  const inferMany = async (
    images: readonly AnyRgbImage[],
    bands?: BandRunner,
  ): Promise<Float32Array[]> => {
    const size = modelInputSize(spec, images[0]!.width, images[0]!.height);
    const per = 3 * size.width * size.height;
    const chw = new Float32Array(per * images.length);
    for (const [k, rgb] of images.entries()) chw.set(await toInputTensor(rgb, size, spec), k * per);
    const dims = [images.length, 3, size.height, size.width];
    const input: WireTensor = half
      ? { type: "float16", data: toHalf(chw), dims }
      : { type: "float32", data: chw, dims };
    const result = await s.run({ [inputName]: input });
    const out = result[outputName];
    if (!out) throw new Error(`${spec.name}: the model gave no float output named ${outputName}`);
    const [oh, ow] = [Number(out.dims[out.dims.length - 2]), Number(out.dims[out.dims.length - 1])];
    const all =
      out.type === "float16" ? fromHalf(out.data as Uint16Array) : (out.data as Float32Array);
    const outputs: Float32Array[] = [];
    for (const [k, rgb] of images.entries()) {
      // Converted at the network's resolution (fewer pixels), then resized to the image's.
      const inverse = toRelativeInverseDepth(
        all.subarray(k * ow * oh, (k + 1) * ow * oh),
        spec.output.kind,
      );
      const { width: outWidth, height: outHeight } = rgb;
      const out = bands
        ? bands.alloc(outWidth * outHeight)
        : new Float32Array(outWidth * outHeight);
      if (ow === outWidth && oh === outHeight) out.set(inverse);
      else if (!bands) resizeBilinear(inverse, ow, oh, outWidth, outHeight, out);
      else {
        const src = bands.share(inverse);
        await bands.rows(
          "resize",
          { src, width: ow, height: oh, outWidth, outHeight, out },
          outHeight,
        );
      }
      outputs.push(out);
    }
    return outputs;
  };
  const sha256 = await sha256File(path);
  return {
    name: spec.name,
    sha256,
    provider,
    maxBatch: batchable ? Number.POSITIVE_INFINITY : 1,
    cpuThreads: provider === "cpu" ? threads : 1,
    ownThread,
    async infer(rgb, bands) {
      return (await inferMany([rgb], bands))[0]!;
    },
    async inferBatch(images) {
      if (images.length === 0) return [];
      const sameSize = images.every(
        (i) => i.width === images[0]!.width && i.height === images[0]!.height,
      );
      if (batchable && sameSize) return inferMany(images);
      const out: Float32Array[] = [];
      for (const img of images) out.push((await inferMany([img]))[0]!);
      return out;
    },
  };
}

/** RGB (floats, as 8-bit samples first, or those samples) → resized, normalised CHW tensor data. */
async function toInputTensor(
  rgb: AnyRgbImage,
  size: { width: number; height: number },
  spec: ModelSpec,
): Promise<Float32Array> {
  const bytes = rgb.data instanceof Uint8Array ? rgb.data : floatToBytes(rgb.data);
  const resized = await sharp(bytes, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .resize(size.width, size.height, { fit: "fill", kernel: "cubic" })
    .raw()
    .toBuffer();
  const n = size.width * size.height;
  const out = new Float32Array(3 * n);
  const { mean, std } = spec.input;
  for (let c = 0; c < 3; c++) {
    const m = mean ? mean[c]! : 0;
    const sd = std ? std[c]! : 1;
    for (let i = 0; i < n; i++) out[c * n + i] = (resized[3 * i + c]! / 255 - m) / sd;
  }
  return out;
}

function toHalf(v: Float32Array): Uint16Array {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) {
    f[0] = v[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    const mant = x & 0x7fffff;
    if (exp <= 0) out[i] = sign;
    else if (exp >= 31) out[i] = sign | 0x7c00;
    else out[i] = sign | (exp << 10) | (mant >>> 13);
  }
  return out;
}

function fromHalf(v: Uint16Array): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const h = v[i]!;
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    out[i] =
      e === 0
        ? s * 2 ** -14 * (m / 1024)
        : e === 31
          ? m
            ? Number.NaN
            : s * Number.POSITIVE_INFINITY
          : s * 2 ** (e - 15) * (1 + m / 1024);
  }
  return out;
}
