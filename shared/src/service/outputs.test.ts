import { describe, expect, it } from "vitest";
import { FuseOptionsSchema } from "./fuseJob.ts";
import {
  CLI_FILES,
  DEFAULT_FORMAT,
  EDGE_PARTS,
  OUTPUT_CONTENT_TYPES,
  OUTPUT_TABLE,
  OUTPUTS,
  outputByFormat,
  outputByPart,
  RESULT_FORMATS,
} from "./outputs.ts";

const unique = (xs: readonly unknown[]) => new Set(xs).size === xs.length;

describe("the outputs table", () => {
  it("names each output once: parts, formats and files are unique", () => {
    expect(unique(OUTPUTS)).toBe(true);
    expect(unique(RESULT_FORMATS)).toBe(true);
    expect(unique(OUTPUT_TABLE.map((o) => o.file))).toBe(true);
  });

  it("is what the GPU answer, the API and the CLI use", () => {
    expect([...OUTPUTS].sort()).toEqual(
      ["aif", "confidence", "depth", "depth_png", "preview", "result"].sort(),
    );
    expect([...RESULT_FORMATS].sort()).toEqual(
      ["confidence", "f32", "json", "npy", "png16", "preview"].sort(),
    );
    expect([...CLI_FILES].sort()).toEqual(
      ["aif.png", "confidence.png", "depth.npy", "depth.png", "preview.png", "result.json"].sort(),
    );
    // The edge asks for every part it serves, and result comes always.
    expect([...EDGE_PARTS].sort()).toEqual(["confidence", "depth", "depth_png", "preview"]);
    for (const p of OUTPUTS) expect(OUTPUT_CONTENT_TYPES[p]).toBe(outputByPart(p).contentType);
    expect(outputByFormat("png16").file).toBe(outputByPart("depth_png").file);
  });

  it("has one default format, and the fuse options accept every part", () => {
    expect(RESULT_FORMATS).toContain(DEFAULT_FORMAT);
    expect(FuseOptionsSchema.parse({ outputs: [...OUTPUTS] }).outputs).toEqual([...OUTPUTS]);
  });
});
