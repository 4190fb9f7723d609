import { focusMeasure } from "#shared/dff/focusMeasure.ts";
import type { LensFitPlan } from "#shared/dff/lensCurve.ts";
import { type FusionInput, refineAligned } from "#shared/fusion/fuse.ts";
import { type Plane, type Rgb8Image, toGray } from "#shared/image/types.ts";
import { IDENTITY, type Similarity, warpSimilarityPair } from "#shared/image/warp.ts";
import type { DecodedRgb } from "../io/decodeImage.ts";
import { focusMeasureGraph, focusMeasureOnGraph } from "./focusMeasure.ts";
import { frameGraph, frameOnGraph } from "./frameGraph.ts";
import type { FusionPlan } from "./fusionPath.ts";
import { profileGraph, type StageRun } from "./graphSession.ts";
import { lensFitChunk } from "./lensFit.ts";
import { refineAlignedOnGraph, refineGraph } from "./refine.ts";
import { warpCoefficients, warpFrameOnGraph, warpGraph } from "./warp.ts";

/**
 * The per-pixel stages the pipeline can run either way, behind one face: the TypeScript
 * reference, or their ONNX graphs on the prior's execution provider. Both give the same
 * depths within float32 rounding (tests in stages.test.ts and fusionPath.pipeline.test.ts).
 */
/** Where a stage puts the planes it makes (shared memory when row bands read them). */
export type PlaneAlloc = (length: number) => Float32Array;

const plain: PlaneAlloc = (length) => new Float32Array(length);

/**
 * The TypeScript stages write into `alloc`'s planes; the graphs hand back onnxruntime's own
 * (callers that need shared memory copy those).
 */
export interface FusionStages {
  focusMeasure(gray: Plane, windowRadius: number, alloc?: PlaneAlloc): Promise<StageRun>;
  refineAligned(input: FusionInput, aligned: Float32Array): Promise<StageRun>;
  /** A frame's focus measure and RGB warped to the reference, and where the samples fell inside. */
  warpFrame(
    focus: Float32Array,
    rgb: Float32Array,
    width: number,
    height: number,
    t: Similarity,
    alloc?: PlaneAlloc,
  ): Promise<WarpedFrame>;
  /**
   * `focusMeasure` of the frame's gray, then `warpFrame` of it with the frame's RGB: on the graph
   * path one graph (`frameGraph`: the RGB up once, as the decoder's samples when kept, the
   * registered planes down once).
   */
  measureAndWarp(
    rgb: DecodedRgb,
    t: Similarity,
    windowRadius: number,
    alloc?: PlaneAlloc,
  ): Promise<WarpedFrame>;
}

export interface WarpedFrame {
  focus: Float32Array;
  color: Float32Array;
  inside: Uint8Array;
  ranOn: string;
}

const JS_STAGES: FusionStages = {
  async focusMeasure(gray, r, alloc = plain) {
    return { data: focusMeasure(gray, r, alloc(gray.data.length)), ranOn: "js" };
  },
  async refineAligned(input, aligned) {
    return { data: refineAligned(input, aligned), ranOn: "js" };
  },
  async warpFrame(focus, rgb, w, h, t, alloc = plain) {
    const inside = new Uint8Array(w * h);
    const warped = warpSimilarityPair(focus, rgb, w, h, t, alloc(w * h), alloc(3 * w * h), inside);
    return {
      focus: warped.gray,
      color: warped.rgb,
      inside,
      ranOn: "js",
    };
  },
  async measureAndWarp(rgb, t, r, alloc = plain) {
    const focus = focusMeasure(toGray(rgb), r, alloc(rgb.width * rgb.height));
    return JS_STAGES.warpFrame(focus, rgb.data, rgb.width, rgb.height, t, alloc);
  },
};

const GRAPH_STAGES: FusionStages = {
  focusMeasure: (gray, r) =>
    // Reflect padding needs two pixels a side; a smaller frame has nothing to gain anyway.
    gray.width < 2 || gray.height < 2
      ? JS_STAGES.focusMeasure(gray, r)
      : focusMeasureOnGraph(gray, r),
  refineAligned: refineAlignedOnGraph,
  warpFrame: warpFrameOnGraph,
  measureAndWarp: (rgb, t, r) =>
    rgb.width < 2 || rgb.height < 2
      ? JS_STAGES.measureAndWarp(rgb, t, r)
      : frameOnGraph(rgb.samples ?? rgb.data, rgb.width, rgb.height, t, r),
};

/** Whether the plan runs a registered frame's focus measure and warp as the one frame graph. */
export function measuresInWarp(plan: FusionPlan): boolean {
  return plan.focusMeasure === "graph" && plan.warp === "graph";
}

/** Each stage the way the plan says. */
export function fusionStages(plan: FusionPlan): FusionStages {
  const way = (stage: keyof FusionPlan) => (plan[stage] === "graph" ? GRAPH_STAGES : JS_STAGES);
  const stages: FusionStages = {
    focusMeasure: (gray, r, alloc) => way("focusMeasure").focusMeasure(gray, r, alloc),
    refineAligned: (input, aligned) => way("refinement").refineAligned(input, aligned),
    warpFrame: (focus, rgb, w, h, t, alloc) => way("warp").warpFrame(focus, rgb, w, h, t, alloc),
    async measureAndWarp(rgb, t, r, alloc) {
      if (measuresInWarp(plan)) return GRAPH_STAGES.measureAndWarp(rgb, t, r, alloc);
      const focus = await stages.focusMeasure(toGray(rgb), r, alloc);
      return stages.warpFrame(focus.data, rgb.data, rgb.width, rgb.height, t, alloc);
    },
  };
  return stages;
}

/**
 * Each graph node's provider, for result.json when asked: the graphs are profiled once more on
 * the run's own planes (the reference frame's gray for the focus measure).
 */
export async function describePlacement(
  plan: FusionPlan,
  reference: Rgb8Image,
  windowRadius: number,
  refinement?: { input: FusionInput; aligned: Float32Array },
  lensFit?: { plan: LensFitPlan; focus: readonly Float32Array[] },
): Promise<Record<string, Record<string, string>>> {
  const rgb = Float32Array.from(reference.data, (v) => v / 255);
  const gray = toGray({ width: reference.width, height: reference.height, data: rgb });
  const { width: w, height: h } = gray;
  const dims = [1, 1, h, w];
  const out: Record<string, Record<string, string>> = {};
  if (plan.focusMeasure === "graph")
    out.focusMeasure = (
      await profileGraph(() => focusMeasureGraph(w, h, windowRadius), {
        gray: { data: gray.data, dims },
      })
    ).placement;
  if (measuresInWarp(plan))
    out.frame =
      // As a JPEG's frames run it: from 8-bit samples.
      (
        await profileGraph(() => frameGraph(w, h, windowRadius, "uint8"), {
          rgb: { data: reference.data, dims: [1, h, w, 3] },
          coef: { data: warpCoefficients(IDENTITY, w, h), dims: [6] },
        })
      ).placement;
  else if (plan.warp === "graph")
    out.warp = (
      await profileGraph(() => warpGraph(w, h), {
        focus: { data: gray.data, dims },
        rgb: { data: rgb, dims: [1, h, w, 3] },
        coef: { data: warpCoefficients(IDENTITY, w, h), dims: [6] },
      })
    ).placement;
  if (lensFit && plan.lensFit === "graph") {
    // The first chunk of grid rows: every chunk is the same graph.
    const [build, inputs] = lensFitChunk(lensFit.plan, lensFit.focus, 0);
    out.lensFit = (await profileGraph(build, inputs)).placement;
  }
  if (refinement && plan.refinement === "graph") {
    const { input, aligned } = refinement;
    out.refinement = (
      await profileGraph(() => refineGraph(w, h, input.range), {
        aligned: { data: aligned, dims },
        dff: { data: input.dffDepth, dims },
        confidence: { data: input.confidence, dims },
        guide: { data: input.guide.data, dims },
      })
    ).placement;
  }
  return out;
}
