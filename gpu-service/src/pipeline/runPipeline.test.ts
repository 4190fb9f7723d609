import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { focusDiopters } from "#shared/capture/parse.ts";
import { HybridDepthError } from "#shared/errors.ts";
import { median, mulberry32 } from "#shared/math/stats.ts";
import { ResultSchema } from "#shared/pipeline/result.ts";
import { workSize } from "#shared/pipeline/workSize.ts";
import { renderDefocus } from "#shared/synth/defocusRenderer.ts";
import { encodeRgb } from "../io/encodeImage.ts";
import { frameRunner } from "../parallel/framePool.ts";
import type { Prior } from "../prior/priorRunner.ts";
import { LARGE_APERTURE_LENS } from "../synth/synthesizeCapture.ts";
import { encodeRaw, functionPrior, texture } from "../testing/fixtures.ts";
import { memorySource } from "../testing/memorySource.ts";
import { runPipeline } from "./runPipeline.ts";

const W = 256;
const H = 192;
// Planes between focus positions (0.4 D apart, ≈2.7 px of blur each step at this width), so
// the answer needs sub-frame interpolation.
const NEAR = 0.625;
const FAR = 1.25;
const FOCUS = [2.2, 1.8, 1.4, 1.0, 0.6, 0.4].map((d) => 1 / d);
/**
 * Focus breathing: frame k sees the scene magnified by 1 + ZOOM[k]. No frame is left
 * unresampled, so none is sharper than the others for a reason other than focus.
 */
const ZOOM = [0.015, 0.009, 0.003, -0.003, -0.009, -0.015];
const REF = 2;

/**
 * A band-limited procedural texture (random sinusoids, below Nyquist) evaluated at exact scene
 * coordinates: magnifying it needs no resampling, which would blur some frames and not others.
 */
function sceneTexture(zoom: number): Float32Array {
  const rnd = mulberry32(11);
  const waves = Array.from({ length: 40 }, () => {
    const f = 0.05 + 0.3 * rnd();
    const th = 2 * Math.PI * rnd();
    return {
      kx: 2 * Math.PI * f * Math.cos(th),
      ky: 2 * Math.PI * f * Math.sin(th),
      ph: 2 * Math.PI * rnd(),
      amp: 0.4 / 40 + (0.4 * rnd()) / 40,
    };
  });
  const out = new Float32Array(W * H * 3);
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = cx + (1 + zoom) * (x - cx);
      const sy = cy + (1 + zoom) * (y - cy);
      let v = 0.5;
      for (const w of waves) v += w.amp * Math.sin(w.kx * sx + w.ky * sy + w.ph);
      out.fill(v, 3 * (y * W + x), 3 * (y * W + x) + 3);
    }
  }
  return out;
}

async function twoPlaneStack(): Promise<Uint8Array[]> {
  return Promise.all(
    FOCUS.map(async (f, k) => {
      const zoom = ZOOM[k]!;
      const cx = (W - 1) / 2;
      // The seam between the planes sits at the scene's centre line, magnified like the texture.
      const depth = {
        width: W,
        height: H,
        data: new Float32Array(W * H).map((_, i) =>
          cx + (1 + zoom) * ((i % W) - cx) < W / 2 ? NEAR : FAR,
        ),
      };
      return encodeRgb(
        renderDefocus(
          { width: W, height: H, data: sceneTexture(zoom) },
          depth,
          LARGE_APERTURE_LENS,
          f,
        ),
        "png",
      );
    }),
  );
}

describe("runPipeline (dff)", async () => {
  const frames = await twoPlaneStack();
  const capture = {
    version: 1 as const,
    reference: REF,
    frames: FOCUS.map((f, k) => ({ file: `f${k}.png`, focusDistance: f })),
  };

  it("registers focus breathing and recovers both planes' depths", async () => {
    // Metadata order need not be focus order: shuffle it.
    const order = [3, 0, 5, 1, 4, 2];
    const shuffled = {
      version: 1 as const,
      reference: order.indexOf(REF),
      frames: order.map((k) => capture.frames[k]!),
    };
    const out = await runPipeline(
      memorySource(
        shuffled,
        order.map((k) => frames[k]!),
      ),
    );
    const result = ResultSchema.parse(out.result);
    expect(result.referenceFrame).toBe(order.indexOf(REF));
    for (const r of result.registration) {
      const k = order[r.frame]!;
      expect(r.trusted).toBe(true);
      // Frame k shows the scene point (1 + zoom_k)·x at x: the reference pixel x maps to
      // (1 + zoom_ref)/(1 + zoom_k)·x in frame k.
      expect(Math.abs(r.scale - (1 + ZOOM[REF]!) / (1 + ZOOM[k]!))).toBeLessThan(0.001);
      expect(r.ncc).toBeGreaterThanOrEqual(r.nccIdentity);
    }
    const left: number[] = [];
    const right: number[] = [];
    for (let y = 15; y < H - 15; y++) {
      for (let x = 15; x < W - 15; x++) {
        if (x < W / 2 - 15) left.push(out.depth.data[y * W + x]!);
        if (x > W / 2 + 15) right.push(out.depth.data[y * W + x]!);
      }
    }
    expect(Math.abs(median(left) / NEAR - 1)).toBeLessThan(0.05);
    expect(Math.abs(median(right) / FAR - 1)).toBeLessThan(0.05);
    expect(result.coverage).toBeGreaterThan(0.3);
    expect(Object.keys(result.timingsMs)).toEqual(
      expect.arrayContaining(["decode", "registration", "dff", "total"]),
    );
    expect(out.allInFocus.data.length).toBe(W * H * 3);
    // Kept as 8-bit samples: the reference exactly as its frame decodes.
    expect(out.allInFocus.data).toBeInstanceOf(Uint8Array);
    const decoded = await sharp(frames[REF]!).removeAlpha().raw().toBuffer();
    expect(Buffer.from(out.reference.data).equals(decoded)).toBe(true);
  });

  it("rejects frames of different sizes, naming both", async () => {
    const small = await encodeRaw(texture(W / 2, H / 2), W / 2, H / 2, "png");
    const src = memorySource(
      {
        version: 1,
        frames: [
          { file: "a.png", focusDistance: 0.5 },
          { file: "b.png", focusDistance: 1 },
        ],
      },
      [frames[0]!, small],
    );
    await expect(runPipeline(src)).rejects.toMatchObject({
      code: "frame_size_mismatch",
      // Compared with the reference frame (the nearer focus of two), which is read first.
      message: `frame 0 (a.png) is ${W}×${H} but frame 1 (b.png) is ${W / 2}×${H / 2}`,
    });
  });

  it("without a prior, aligned and full fall back to depth from focus and say so", async () => {
    const out = await runPipeline(memorySource(capture, frames), { stage: "full" });
    expect(out.result.stage).toBe("dff");
    expect(out.result.requestedStage).toBe("full");
    expect(out.result.fallbacks).toEqual(["full→dff: no depth prior model available"]);
    expect(out.result.warnings.join(" ")).toMatch(/no depth prior model found/);
    expect(out.result.model).toBeNull();
    expect(out.stageDepths.full).toBeUndefined();
  });

  it("works at a reduced resolution under the pixel budget", async () => {
    const out = await runPipeline(memorySource(capture, frames), { maxWorkPixels: (W * H) / 4 });
    expect([out.result.width, out.result.height]).toEqual([W / 2, H / 2]);
    expect([out.result.sourceWidth, out.result.sourceHeight]).toEqual([W, H]);
  });

  it("gives bit-identical results on one thread and on a pool of several", async () => {
    const one = await runPipeline(memorySource(capture, frames), { threads: 1 });
    for (const threads of [2, 3]) {
      const pooled = await runPipeline(memorySource(capture, frames), { threads });
      expect(Buffer.from(pooled.depth.data.buffer).equals(Buffer.from(one.depth.data.buffer))).toBe(
        true,
      );
      expect(
        Buffer.from(pooled.confidence.data.buffer).equals(Buffer.from(one.confidence.data.buffer)),
      ).toBe(true);
      expect(
        Buffer.from(pooled.allInFocus.data.buffer).equals(Buffer.from(one.allInFocus.data.buffer)),
      ).toBe(true);
      expect(pooled.result.registration).toEqual(one.result.registration);
      expect(pooled.result.registration.some((r) => r.scale !== 1)).toBe(true);
    }
  });

  it("takes frames as they finish: a slow one holds up no thread, and the bits do not move", async () => {
    const one = await runPipeline(memorySource(capture, frames), { threads: 1 });
    // Frames run in focus order after the reference; the first of them arrives late.
    const src = memorySource(capture, frames);
    const diopters = focusDiopters(src.capture);
    const ahead = [...diopters.keys()]
      .filter((i) => i !== REF)
      .sort((a, b) => diopters[a]! - diopters[b]!);
    const slow = ahead[0]!;
    const released: number[] = [];
    // The slow frame arrives once the frame two after it is done, or after 3 s: taken in focus
    // order, that frame could not even start before the slow one was in.
    let arrive = () => {};
    const arrived = new Promise<void>((r) => {
      arrive = r;
      setTimeout(r, 3000);
    });
    const readFrame = src.readFrame;
    src.readFrame = async (i) => {
      if (i === slow) await arrived;
      return readFrame(i);
    };
    src.release = (i) => {
      released.push(i);
      if (i === ahead[2]) arrive();
    };
    const pooled = await runPipeline(src, { threads: 2 });
    // In focus order, the frame after the next would wait for the slow one to be taken in.
    expect(released.indexOf(ahead[2]!)).toBeLessThan(released.indexOf(slow));
    expect(Buffer.from(pooled.depth.data.buffer).equals(Buffer.from(one.depth.data.buffer))).toBe(
      true,
    );
    expect(
      Buffer.from(pooled.allInFocus.data.buffer).equals(Buffer.from(one.allInFocus.data.buffer)),
    ).toBe(true);
    expect(pooled.result.registration).toEqual(one.result.registration);
    expect(pooled.result.warnings).toEqual(one.result.warnings);
  });

  it("starts a prior on its own thread beside the frames, with the bits it gives after them", async () => {
    // A prior of the image alone (inverse luma), answering a moment later, as another thread does.
    let checkpoints = 0;
    let askedAt = -1;
    const base = functionPrior("inverse luma", ({ width, height, data }) => {
      const out = new Float32Array(width * height);
      for (let i = 0; i < out.length; i++) out[i] = 1 + data[3 * i]! / 255;
      return out;
    });
    const prior = (ownThread: boolean): Prior => ({
      ...base,
      ownThread,
      infer: async (rgb) => {
        askedAt = checkpoints;
        await new Promise((r) => setTimeout(r, 20));
        return base.infer(rgb);
      },
    });
    const run = async (ownThread: boolean) => {
      checkpoints = 0;
      const out = await runPipeline(memorySource(capture, frames), {
        stage: "full",
        threads: 2,
        prior: prior(ownThread),
        checkpoint: () => void checkpoints++,
      });
      return { out, askedAt };
    };
    const after = await run(false);
    const beside = await run(true);
    expect(beside.out.result.stage).toBe("full");
    // Asked with the reference frame in, before the other frames' checkpoints, where the other
    // is asked once the fit is done.
    expect(beside.askedAt).toBeLessThan(after.askedAt);
    for (const stage of ["dff", "aligned", "full"] as const)
      expect(
        Buffer.from(beside.out.stageDepths[stage]!.buffer).equals(
          Buffer.from(after.out.stageDepths[stage]!.buffer),
        ),
      ).toBe(true);
    expect(beside.out.result.timingsMs.prior).toBeGreaterThan(0);
  });

  it("runs concurrent jobs on the one shared pool, each as it would alone", async () => {
    // The GPU service runs every job's pipeline in one thread: frameRunner() is its one pool.
    expect(frameRunner(2)).toBe(frameRunner(2));
    const alone = await runPipeline(memorySource(capture, frames), { threads: 1 });
    for (const threads of [1, 2]) {
      const jobs = await Promise.all(
        [0, 1, 2].map(() => runPipeline(memorySource(capture, frames), { threads })),
      );
      for (const j of jobs) {
        expect(Buffer.from(j.depth.data.buffer).equals(Buffer.from(alone.depth.data.buffer))).toBe(
          true,
        );
        expect(j.result.registration).toEqual(alone.result.registration);
      }
    }
  });

  it("names an undecodable frame on the pool, the reference or another, and never hangs", async () => {
    const broken = (k: number) => frames.map((f, i) => (i === k ? f.subarray(0, 200) : f));
    for (const k of [REF, 0, 5]) {
      for (const threads of [1, 2]) {
        await expect(
          runPipeline(memorySource(capture, broken(k)), { threads }),
        ).rejects.toMatchObject({
          code: "frame_unreadable",
          message: expect.stringContaining(`frame ${k} (f${k}.png)`),
        });
      }
    }
  });

  it("stays within the pixel cap for every shape it accepts, and refuses the rest with a reason", () => {
    const cap = 3_200_000;
    for (const [w, h] of [
      [4080, 3072],
      [8000, 2000],
      [2000, 8000],
      [12_000, 3000],
      [64, 16],
    ] as const) {
      const s = workSize({ width: w, height: h }, cap);
      // Within rounding: one row and one column at most.
      expect(s.width * s.height, `${w}×${h}`).toBeLessThanOrEqual(cap + s.width + s.height);
    }
    // 63 MP × 1 px (15 KB as PNG) used to become a 14.2 MP work image with a 1-px short side.
    for (const [w, h, reason] of [
      [63_000_000, 1, /short side/],
      [1, 63_000_000, /short side/],
      [8000, 1000, /8\.0:1; at most 4:1/],
      [6, 6, /at least 8 px/],
    ] as const) {
      let err: unknown;
      try {
        workSize({ width: w, height: h }, cap);
      } catch (e) {
        err = e;
      }
      expect(err, `${w}×${h}`).toBeInstanceOf(HybridDepthError);
      expect((err as HybridDepthError).status).toBe(422);
      expect((err as HybridDepthError).code).toBe("frame_shape_unsupported");
      expect((err as HybridDepthError).message).toMatch(reason);
    }
  });
});
