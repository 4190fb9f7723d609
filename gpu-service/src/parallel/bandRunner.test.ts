import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { alignPrior, alignPriorInBands } from "#shared/fusion/fuse.ts";
import { mulberry32 } from "#shared/math/stats.ts";
import { loadCaptureDir } from "../capture/loadCaptureDir.ts";
import { decodeSamples } from "../io/decodeImage.ts";
import { runPipeline } from "../pipeline/runPipeline.ts";
import { findModelFile, loadRegistry, modelSearchDirs } from "../prior/modelStore.ts";
import { loadPrior } from "../prior/priorRunner.ts";
import { bandRunner } from "./bandRunner.ts";

const SAMPLE = join(import.meta.dirname, "..", "..", "..", "samples", "redwood-00000");
const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe("row bands on the frame pool", () => {
  it("keep every plane in shared memory and refuse one that would be copied", async () => {
    const bands = bandRunner(2);
    expect(bands.alloc(8).buffer).toBeInstanceOf(SharedArrayBuffer);
    const plan = { gw: 1, gh: 1 } as never;
    const focus = [new Float32Array(1 << 15)]; // 128 KiB of plain memory
    const grid = { position: bands.alloc(1), variance: bands.alloc(1) };
    await expect(bands.rows("lensFit", { plan, focus, grid }, 1)).rejects.toThrow(/shared memory/);
    // A frame's samples are shared as the kind they are (copied once when they must be).
    const samples = Uint16Array.from([1, 2, 3]);
    const shared = bands.share(samples);
    expect(shared).toBeInstanceOf(Uint16Array);
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(shared)).toEqual([1, 2, 3]);
    expect(bands.share(shared)).toBe(shared);
    const colour = { samples, transform: { a: 0, b: 0, tx: 1, ty: 0 } };
    const args = {
      k: 0,
      width: 3,
      height: 1,
      focus: bands.alloc(3),
      colour,
      best: bands.alloc(3),
      bestIdx: new Uint8Array(new SharedArrayBuffer(3)),
      aif: bands.alloc(9),
    };
    await expect(bands.rows("dffAdd", args, 1)).rejects.toThrow(/shared memory/);
  });

  it("give the alignment (run in bands from 1 MP) the same bits on the pool as on this thread", async () => {
    const bands = bandRunner(2);
    const [w, h] = [1200, 900];
    const rnd = mulberry32(4);
    const input = {
      dffDepth: bands.alloc(w * h),
      confidence: bands.alloc(w * h),
      priorInverse: bands.alloc(w * h),
      guide: { width: w, height: h, data: bands.alloc(w * h) },
      range: { min: 0.1, max: 10 },
    };
    for (let i = 0; i < w * h; i++) {
      const d = 0.5 + 3 * ((i % w) / w) + 0.2 * rnd();
      input.dffDepth[i] = d;
      input.confidence[i] = rnd() < 0.3 ? 0 : rnd();
      input.priorInverse[i] = (1 / d + 0.4) * (1 + 0.1 * (rnd() - 0.5)) + (i % 5003 ? 0 : 30);
    }
    const here = alignPrior(input);
    const pooled = await alignPriorInBands(input, bands);
    expect(pooled.alignment).toEqual(here.alignment);
    expect(here.alignment.fallback).toBeUndefined();
    expect(bits(pooled.depth!).equals(bits(here.depth!))).toBe(true);
  });

  it("give the bundled sample the same bits on 1, 2 and 3 threads, every stage", async () => {
    const spec = (await loadRegistry()).find((s) => s.name === "pydnet-pp")!;
    const path = findModelFile(spec, modelSearchDirs());
    const prior = path ? await loadPrior({ spec, path }, ["cpu"]) : undefined;
    const source = await loadCaptureDir(SAMPLE);
    const runs = [];
    for (const threads of [1, 2, 3])
      runs.push(await runPipeline(source, { stage: "full", threads, ...(prior ? { prior } : {}) }));
    const [one, ...pooled] = runs;
    expect(one!.result.stage).toBe(prior ? "full" : "dff");
    for (const p of pooled) {
      for (const stage of ["dff", "aligned", "full"] as const) {
        const a = one!.stageDepths[stage];
        expect(a === undefined, stage).toBe(p.stageDepths[stage] === undefined);
        if (a) expect(bits(p.stageDepths[stage]!).equals(bits(a)), stage).toBe(true);
      }
      expect(bits(p.confidence.data).equals(bits(one!.confidence.data))).toBe(true);
      expect(p.result.scale).toBe(one!.result.scale);
      // The composite, and the reference as decoded (its samples are kept, never reused by a
      // pool thread for a later frame).
      expect(Buffer.from(p.allInFocus.data).equals(Buffer.from(one!.allInFocus.data))).toBe(true);
      expect(Buffer.from(p.reference.data).equals(Buffer.from(one!.reference.data))).toBe(true);
    }
    const ref = source.capture.frames[one!.result.referenceFrame]!.file;
    const decoded = await decodeSamples(await readFile(join(SAMPLE, ref)), ref);
    for (const run of runs)
      expect(Buffer.from(run.reference.data).equals(Buffer.from(decoded.data))).toBe(true);
  });

  it("give the same bits on 1 and 2 threads when the blur per diopter is fitted to the stack", async () => {
    const runs = [];
    for (const threads of [1, 2]) {
      const source = await loadCaptureDir(SAMPLE);
      delete source.capture.camera; // no optics (the sample's JPEGs carry no EXIF lens data)
      runs.push(await runPipeline(source, { stage: "dff", threads }));
    }
    const [one, two] = runs;
    expect(one!.result.optics?.source).toBe("fitted");
    expect(two!.result.optics).toEqual(one!.result.optics);
    expect(bits(two!.depth.data).equals(bits(one!.depth.data))).toBe(true);
    expect(bits(two!.confidence.data).equals(bits(one!.confidence.data))).toBe(true);
  });
});
