import type { FrameColour } from "#shared/dff/accumulator.ts";
import { HybridDepthError } from "#shared/errors.ts";
import { type Plane, type RgbSamples, toGray, toGraySamples } from "#shared/image/types.ts";
import { IDENTITY, type Similarity, warpSimilarity } from "#shared/image/warp.ts";
import {
  Registrar,
  type Registration,
  registrationLevel,
  registrationLevelSize,
} from "#shared/registration/similarity.ts";
import type { FusionPlan } from "../graphs/fusionPath.ts";
import { fusionStages, measuresInWarp } from "../graphs/fusionStages.ts";
import { type DecodedRgb, decodeRgb, decodeSamples, type ImageSize } from "../io/decodeImage.ts";
import { type SparePlane, SparePlanes } from "./sparePlanes.ts";

/**
 * The per-frame work of a pipeline (decode, focus measure, registration, warp): independent
 * across frames, so it runs on any thread of the pool. Plain data in and out.
 */

/** What every frame of one capture shares. */
export interface FrameJob {
  /** Unique per pipeline run: threads cache the reference's registrar under it. */
  id: string;
  work: ImageSize;
  maxFramePixels: number;
  windowRadius: number;
  register: boolean;
  /** Where the focus measure and the warp run: the TypeScript reference or their ONNX graphs. */
  fusion: FusionPlan;
  /** The reference's registration level, published once by the thread that decodes it. */
  reference: SharedReference;
  /** Colour and focus come back in shared memory: the pipeline's row bands read them in place. */
  shared?: boolean;
}

export interface FrameTask {
  job: FrameJob;
  /** The frame's encoded bytes (copied to the thread: ~1/10 of one decoded plane). */
  bytes: Uint8Array;
  name: string;
  isReference: boolean;
  /**
   * Planes the pipeline is done with (an earlier frame's colour, once it is in the accumulator;
   * shared memory on a pool): the thread keeps them for reuse (sparePlanes.ts).
   */
  recycled?: SparePlane[];
}

export interface FrameOutput {
  /**
   * RGB at work size: registered floats, or (where the warp runs in TypeScript) the decoded
   * samples and the transform that registers them, which the accumulator samples where it needs.
   */
  color: FrameColour;
  /** Focus measure at work size, registered to the reference. */
  focus: Float32Array;
  /** Where each stage ran (focusMeasure, warp): "js" or its graph's execution provider. */
  ranOn: Record<string, string>;
  /** 1 where the registered frame covers the pixel; absent when it was not warped. */
  inside?: Uint8Array;
  registration: Registration;
  /** Thread time per stage (ms). */
  ms: { decode: number; registration: number; dff: number };
}

/**
 * The reference's registration level in shared memory: a state word (PENDING, READY, FAILED)
 * then the level's floats. Frames wait on the state word (Atomics.waitAsync), so they decode
 * and measure focus while the reference is still being decoded elsewhere.
 */
export interface SharedReference {
  buffer: SharedArrayBuffer;
  width: number;
  height: number;
  factor: number;
}

const PENDING = 0;
const READY = 1;
const FAILED = 2;
const HEADER_BYTES = 8;

export function sharedReference(work: ImageSize): SharedReference {
  const size = registrationLevelSize(work.width, work.height);
  const buffer = new SharedArrayBuffer(HEADER_BYTES + 4 * size.width * size.height);
  return { buffer, ...size };
}

/** Wakes the frames waiting on a reference that will never come (its decode failed). */
export function failReference(ref: SharedReference): void {
  const state = new Int32Array(ref.buffer, 0, 1);
  Atomics.store(state, 0, FAILED);
  Atomics.notify(state, 0);
}

function publishReference(ref: SharedReference, level: Plane): void {
  new Float32Array(ref.buffer, HEADER_BYTES).set(level.data);
  const state = new Int32Array(ref.buffer, 0, 1);
  Atomics.store(state, 0, READY);
  Atomics.notify(state, 0);
}

async function awaitReference(ref: SharedReference): Promise<Plane> {
  const state = new Int32Array(ref.buffer, 0, 1);
  // `waitAsync` is ES2024; Node has it since 16.
  const waitAsync = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync;
  while (Atomics.load(state, 0) === PENDING) {
    const w = waitAsync(state, 0, PENDING);
    if (w.async) await w.value;
  }
  if (Atomics.load(state, 0) !== READY)
    throw new HybridDepthError("FRAME_UNREADABLE", "the reference frame could not be decoded");
  return {
    width: ref.width,
    height: ref.height,
    data: new Float32Array(ref.buffer, HEADER_BYTES, ref.width * ref.height),
  };
}

interface AtomicsWithWaitAsync {
  waitAsync(
    a: Int32Array,
    index: number,
    value: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
}

/** Registrars by job id: built once per thread and capture from the shared level. */
const registrars = new Map<string, Registrar>();
const MAX_CACHED_REGISTRARS = 8;

async function registrarFor(job: FrameJob): Promise<Registrar> {
  let r = registrars.get(job.id);
  if (!r) {
    r = new Registrar(await awaitReference(job.reference), {}, job.reference.factor);
    registrars.set(job.id, r);
    if (registrars.size > MAX_CACHED_REGISTRARS) registrars.delete(registrars.keys().next().value!);
  }
  return r;
}

/** Forgets a finished job's registrar on this thread. */
export function forgetJob(id: string): void {
  registrars.delete(id);
}

/** This thread's planes left over from its last frames (sparePlanes.ts). */
const spare = new SparePlanes();

export async function processFrame(task: FrameTask): Promise<FrameOutput> {
  const { job } = task;
  const ms = { decode: 0, registration: 0, dff: 0 };
  const shared = job.shared === true;
  const alloc = (length: number) => spare.take(length, shared);
  if (task.recycled) spare.giveBack(...task.recycled);
  let t = performance.now();
  const lap = (stage: keyof typeof ms) => {
    const now = performance.now();
    ms[stage] += now - t;
    t = now;
  };
  // On the graph path a registered frame's focus measure and warp are one graph, run once its
  // transform is known (its RGB goes to the device once, as the decoder's samples, and the
  // registered planes come back once); otherwise focus is measured first, while the reference
  // may still be on its way.
  const inWarp = measuresInWarp(job.fusion) && job.register && !task.isReference;
  // Where the warp runs here, the colour stays as the decoder's samples (a quarter of the floats'
  // bytes at 8 bits): the accumulator reads them through their table, registered only where the
  // frame is the sharpest, with the same bits as a warped float image. A graph warps floats.
  const asSamples = job.fusion.warp === "js";
  let rgb: DecodedRgb | RgbSamples;
  try {
    rgb = asSamples
      ? await decodeSamples(task.bytes, task.name, job.work, job.maxFramePixels, (length, wide) =>
          wide
            ? spare.takeOf(Uint16Array, length, shared)
            : spare.takeOf(Uint8Array, length, shared),
        )
      : await decodeRgb(task.bytes, task.name, job.work, job.maxFramePixels, alloc, inWarp);
  } catch (e) {
    if (task.isReference) failReference(job.reference);
    throw e;
  }
  const grayPlane = spare.take(rgb.width * rgb.height, false);
  const gray = isSamples(rgb) ? toGraySamples(rgb, grayPlane) : toGray(rgb, grayPlane);
  lap("decode");
  let reg: Registration = {
    transform: { ...IDENTITY },
    trusted: true,
    ncc: 1,
    nccIdentity: 1,
    residual: 0,
  };
  if (task.isReference) {
    publishReference(job.reference, registrationLevel(gray).level);
    lap("registration");
  }
  // Focus is measured on the frame as captured and the smooth focus map is warped, never the
  // image: resampling an image low-passes it and would bias every warped frame towards "blurred".
  const stages = fusionStages(job.fusion);
  const { width: w, height: h } = job.work;
  const ranOn: Record<string, string> = {};
  const measure = async (): Promise<Float32Array> => {
    const measured = await stages.focusMeasure(gray, job.windowRadius, alloc);
    ranOn.focusMeasure = measured.ranOn;
    lap("dff");
    return inMemory(measured.data, alloc, shared);
  };
  let focus = inWarp ? undefined : await measure();
  const asIs: FrameColour = isSamples(rgb) ? { samples: rgb.data } : rgb.data;
  if (task.isReference || !job.register) {
    const out = {
      color: asIs,
      focus: focus ?? (await measure()),
      ranOn,
      registration: reg,
      ms,
    };
    spare.giveBack(gray.data);
    return out;
  }
  const registrar = await registrarFor(job);
  t = performance.now(); // waiting for the reference is no work
  reg = registrar.register(registrationLevel(gray).level);
  let color = asIs;
  let inside: Uint8Array | undefined;
  if (!isIdentity(reg.transform) && isSamples(rgb)) {
    // Only the focus is warped here; the colour goes with its transform.
    inside = new Uint8Array(w * h);
    const unwarped = focus!;
    focus = warpSimilarity(unwarped, w, h, 1, reg.transform, alloc(w * h), inside);
    color = { samples: rgb.data, transform: reg.transform };
    ranOn.warp = "js";
    spare.giveBack(unwarped);
  } else if (!isIdentity(reg.transform)) {
    const decoded = rgb as DecodedRgb;
    const warped = focus
      ? await stages.warpFrame(focus, decoded.data, w, h, reg.transform, alloc)
      : await stages.measureAndWarp(decoded, reg.transform, job.windowRadius, alloc);
    if (!focus) ranOn.focusMeasure = warped.ranOn;
    ({ inside } = warped);
    // What the warp read is done with: the decoded colour and the unwarped focus.
    const unwarped = [decoded.data, ...(focus ? [focus] : [])];
    focus = inMemory(warped.focus, alloc, shared);
    const warpedColor = inMemory(warped.color, alloc, shared);
    color = warpedColor;
    ranOn.warp = warped.ranOn;
    spare.giveBack(...unwarped.filter((p) => p !== focus && p !== warpedColor));
  }
  lap("registration"); // the frame graph's focus measure included, as the warp always was
  focus ??= await measure();
  spare.giveBack(gray.data);
  return { color, focus, ranOn, ...(inside ? { inside } : {}), registration: reg, ms };
}

function isSamples(img: DecodedRgb | RgbSamples): img is RgbSamples {
  return !(img.data instanceof Float32Array);
}

/** `plane` itself when `alloc` gives the same kind of memory (`shared` or not), else a copy. */
function inMemory(
  plane: Float32Array,
  alloc: (length: number) => Float32Array,
  shared: boolean,
): Float32Array {
  if (plane.buffer instanceof SharedArrayBuffer === shared) return plane;
  const copy = alloc(plane.length);
  copy.set(plane);
  return copy;
}

function isIdentity(t: Similarity): boolean {
  return t.a === 0 && t.b === 0 && t.tx === 0 && t.ty === 0;
}
