import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { DffAccumulator } from "#shared/dff/accumulator.ts";
import { mulberry32 } from "#shared/math/stats.ts";

// Lives here, not beside the accumulator: shared/ may not import node:v8 (DESIGN.md).
describe("DffAccumulator memory", () => {
  it("lets go of its planes once the fit is done, though it is still referenced", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const [w, h] = [64, 48];
    const rnd = mulberry32(3);
    const diopters = [0.4, 0.8, 1.6, 2.5];
    // Every plane allocated while frames are added is a kept focus measure.
    const kept: WeakRef<Float32Array>[] = [];
    // Before them: its running peak (w·h) and all-in-focus colour (3·w·h).
    const own: WeakRef<Float32Array>[] = [];
    let adding = false;
    const acc = new DffAccumulator(w, h, diopters, {
      alloc: (length) => {
        const p = new Float32Array(length);
        (adding ? kept : own).push(new WeakRef(p));
        return p;
      },
    });
    adding = true;
    for (const _ of diopters)
      acc.add(
        Float32Array.from({ length: w * h }, () => rnd()),
        Float32Array.from({ length: 3 * w * h }, () => rnd()),
      );
    adding = false;
    const result = acc.finish();
    expect(kept).toHaveLength(diopters.length);
    // WeakRef targets are held to the end of a job, and one collection does not always clear
    // them (CI once saw all 4 planes after a single gc()): collect again, a bounded number of
    // times. A plane that is still referenced survives every one of them.
    const reachable = () => kept.filter((r) => r.deref() !== undefined).length;
    for (let tries = 0; tries < 20 && (reachable() > 0 || own[0]!.deref()); tries++) {
      await new Promise((r) => setTimeout(r, 5));
      gc();
    }
    expect(reachable()).toBe(0);
    // The running peak is gone too; the colour lives on in the result, which owns it.
    expect(own[0]!.deref()).toBeUndefined();
    expect(own[1]!.deref()).toBe(result.allInFocus.data);
    expect(result.depth.data).toHaveLength(w * h);
    expect(acc).toBeDefined(); // still reachable here: its planes went, not the accumulator
  });
});
