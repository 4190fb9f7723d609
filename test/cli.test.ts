import { existsSync } from "node:fs";
import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import { decodeNpyFloat32 } from "#shared/format/npy.ts";
import { ResultSchema } from "#shared/pipeline/result.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { runCli } from "./helpers/runCli.ts";
import { BUNDLED_SAMPLE, hasSharedModels } from "./helpers/sharedData.ts";

describe("hybriddepth CLI on the bundled sample", () => {
  it("fuse writes every output, consistent with each other", async () => {
    const out = await tempDir();
    const r = await runCli(["fuse", BUNDLED_SAMPLE, "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const stage = hasSharedModels ? "full" : "dff";
    expect(r.stdout).toMatch(new RegExp(`redwood-00000: ${stage} depth 640×480 from 5 frames`));
    for (const f of [
      "depth.png",
      "depth.npy",
      "confidence.png",
      "aif.png",
      "preview.png",
      "result.json",
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const result = ResultSchema.parse(JSON.parse(await readFile(join(out, "result.json"), "utf8")));
    expect(result.stage).toBe(stage);
    expect(result.model).toBe(hasSharedModels ? "pydnet-pp" : null);
    expect(result.registration).toHaveLength(5);
    const png = decode(await readFile(join(out, "depth.png")));
    expect([png.width, png.height, png.depth, png.channels]).toEqual([640, 480, 16, 1]);
    const npy = decodeNpyFloat32(new Uint8Array(await readFile(join(out, "depth.npy"))));
    expect(npy.shape).toEqual([480, 640]);
    // The PNG holds the same depth in millimetres.
    for (let i = 0; i < npy.data.length; i += 997)
      expect(Math.abs(png.data[i]! - npy.data[i]! * 1000)).toBeLessThanOrEqual(0.5);
    // Depth lies within the range result.json reports.
    for (let i = 0; i < npy.data.length; i += 101) {
      expect(npy.data[i]).toBeGreaterThanOrEqual(result.depthRangeM.min - 1e-4);
      expect(npy.data[i]).toBeLessThanOrEqual(result.depthRangeM.max + 1e-4);
    }
  });

  it("eval --json scores the capture, and its confident pixels beat all pixels", async () => {
    const r = await runCli(["eval", BUNDLED_SAMPLE, "--json", "--stage", "dff"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const row = report.rows[0];
    expect(row.stage).toBe("dff");
    expect(row.all.coverage).toBe(1);
    expect(row.all.absRel).toBeLessThan(0.15);
    expect(row.confident.absRel).toBeLessThan(0.6 * row.all.absRel);
    expect(report.mean[0].all.absRel).toBeCloseTo(row.all.absRel, 10);
  });

  it("eval prints a table with every metric", async () => {
    const r = await runCli(["eval", BUNDLED_SAMPLE, "--stage", "dff"]);
    expect(r.code).toBe(0);
    for (const col of ["AbsRel", "SqRel", "RMSE", "RMSElog", "δ1", "δ2", "δ3", "cov", "AbsRel@30%"])
      expect(r.stdout).toContain(col);
    expect(r.stdout).toMatch(/^mean\s+dff/m);
  });
});

describe("hybriddepth CLI errors: one line, non-zero exit", () => {
  const cases: [string, string[], RegExp][] = [
    [
      "missing capture",
      ["fuse", "/nonexistent/capture", "--out", "/tmp/x"],
      /^hybriddepth: capture_not_found: .*no such file or folder\n$/,
    ],
    [
      "missing --out",
      ["fuse", "samples/redwood-00000"],
      /required option '--out <dir>' not specified/,
    ],
    [
      "unknown stage",
      ["fuse", "samples/redwood-00000", "--out", "/tmp/x", "--stage", "magic"],
      /Allowed choices are dff, aligned, full/,
    ],
    [
      "unknown model",
      ["fuse", "samples/redwood-00000", "--out", "/tmp/x", "--model", "resnet-9000"],
      /^hybriddepth: model_not_found: unknown model "resnet-9000" \(known: depth-anything-v2-small, pydnet-pp\)/,
    ],
    [
      "bad number",
      ["fuse", "samples/redwood-00000", "--out", "/tmp/x", "--max-megapixels", "-3"],
      /"-3" is not a positive number/,
    ],
    [
      "too few synth frames",
      ["synth", "a.jpg", "b.png", "--out", "/tmp/x", "--frames", "1"],
      /"1" is not an integer in 2\.\.64/,
    ],
    [
      "unreadable synth input",
      ["synth", "/nonexistent.jpg", "/nonexistent.png", "--out", "/tmp/x"],
      /^hybriddepth: error: .*nonexistent/,
    ],
    ["unknown command", ["fly"], /unknown command 'fly'/],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const r = await runCli(args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    });
  }

  it("fuse with no prior model anywhere still writes depth from focus, with a clear warning", async () => {
    const out = await tempDir();
    const r = await runCli(["fuse", BUNDLED_SAMPLE, "--out", out], { MODELS_PATH: "" });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: no depth prior model found \(run npm run models:pull\); ran depth from focus only$/m,
    );
    const result = ResultSchema.parse(JSON.parse(await readFile(join(out, "result.json"), "utf8")));
    expect([result.stage, result.requestedStage]).toEqual(["dff", "full"]);
  });

  it("eval of aligned/full without any prior model refuses with a reason", async () => {
    const r = await runCli(["eval", BUNDLED_SAMPLE, "--stage", "full"], { MODELS_PATH: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^hybriddepth: model_not_found: stages aligned and full need a depth prior model/,
    );
  });

  it("eval without ground truth says so", async () => {
    const dir = await tempDir();
    await cp(BUNDLED_SAMPLE, dir, { recursive: true });
    const { rm } = await import("node:fs/promises");
    await rm(join(dir, "gt_depth.png"));
    const r = await runCli(["eval", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hybriddepth: ground_truth_missing: /);
  });
});
