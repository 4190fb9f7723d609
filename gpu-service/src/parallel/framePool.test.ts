import { describe, expect, it } from "vitest";
import { FRAME_THREAD_YOUNG_GENERATION_MB, FramePool } from "./framePool.ts";

const shared = (n: number) => new Float32Array(new SharedArrayBuffer(4 * n));

describe("frame pool threads", () => {
  it("run with a small young generation, so that the planes they were handed are let go", async () => {
    const pool = new FramePool(2);
    try {
      // One band on each thread (both idle, so each takes one): a thread that ran work is online,
      // and the limits it reports are the ones it runs with.
      const [w, h] = [4, 2];
      const args = {
        w,
        aligned: shared(w * h).fill(2),
        dffDepth: shared(w * h).fill(1),
        confidence: shared(w * h).fill(1),
        evidence: shared(w * h),
      };
      await Promise.all([
        pool.runRows({ kernel: "refineEvidence", args, y0: 0, y1: 1 }),
        pool.runRows({ kernel: "refineEvidence", args, y0: 1, y1: 2 }),
      ]);
      expect(Array.from(args.evidence)).toEqual(new Array(w * h).fill(Math.fround(Math.log(2))));
      expect(pool.resourceLimits).toHaveLength(2);
      for (const limits of pool.resourceLimits)
        expect(limits.maxYoungGenerationSizeMb).toBe(FRAME_THREAD_YOUNG_GENERATION_MB);
    } finally {
      await pool.close();
    }
  });
});
