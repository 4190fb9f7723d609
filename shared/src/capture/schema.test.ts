import { describe, expect, it } from "vitest";
import { HybridDepthError } from "../errors.ts";
import { captureFromFileNames, focusDiopters, parseCapture, referenceIndex } from "./parse.ts";
import { MAX_FRAMES } from "./schema.ts";

const frames = (distances: readonly unknown[]) =>
  distances.map((focusDistance, i) => ({
    file: `f${String(i).padStart(2, "0")}.jpg`,
    focusDistance,
  }));

const good = () => ({
  version: 1,
  frames: frames([0.3, 0.5, 1, 2]),
});

/** The message parseCapture throws for `input` (and checks it is an invalid_capture error). */
function rejection(input: unknown): string {
  try {
    parseCapture(input);
  } catch (e) {
    expect(e).toBeInstanceOf(HybridDepthError);
    const err = e as HybridDepthError;
    expect(err.code).toBe("invalid_capture");
    expect(err.kind).toBe("INVALID_CAPTURE");
    expect(err.status).toBe(400);
    return err.message;
  }
  throw new Error("parseCapture accepted invalid input");
}

describe("parseCapture", () => {
  it("accepts a good capture and defaults focusUnit to metres", () => {
    const c = parseCapture(good());
    expect(c.focusUnit).toBe("m");
    expect(c.version).toBe(1);
    expect(c.frames.map((f) => f.focusDistance)).toEqual([0.3, 0.5, 1, 2]);
    expect(c.frames[0]!.file).toBe("f00.jpg");
    expect(c.reference).toBeUndefined();
  });

  it("accepts the optional fields when valid", () => {
    const c = parseCapture({
      ...good(),
      focusUnit: "diopter",
      reference: 3,
      camera: { fNumber: 1.8, focalLengthMm: 5.7, sensorWidthMm: 7 },
      depthRange: { min: 0.1, max: 10 },
      frames: [
        { file: "a.JPG", focusDistance: 1 },
        { file: "b.jpeg", focusDistance: 2 },
        { file: "c.png", focusDistance: 3 },
        { file: "d.PNG", focusDistance: 4 },
      ],
    });
    expect(c.focusUnit).toBe("diopter");
    expect(c.reference).toBe(3);
    expect(c.camera).toEqual({ fNumber: 1.8, focalLengthMm: 5.7, sensorWidthMm: 7 });
    expect(c.depthRange).toEqual({ min: 0.1, max: 10 });
  });

  it("accepts exactly 2 and exactly 64 frames", () => {
    expect(parseCapture({ version: 1, frames: frames([1, 2]) }).frames).toHaveLength(2);
    const many = frames(Array.from({ length: MAX_FRAMES }, (_, i) => 0.1 + i * 0.1));
    expect(parseCapture({ version: 1, frames: many }).frames).toHaveLength(64);
  });

  it("rejects fewer than 2 frames", () => {
    expect(rejection({ version: 1, frames: frames([0.5]) })).toBe(
      "frames: a capture needs at least 2 frames",
    );
    expect(rejection({ version: 1, frames: [] })).toBe("frames: a capture needs at least 2 frames");
  });

  it("rejects more than 64 frames", () => {
    const many = frames(Array.from({ length: 65 }, (_, i) => 0.1 + i * 0.1));
    expect(rejection({ version: 1, frames: many })).toBe("frames: a capture has at most 64 frames");
  });

  it("rejects a duplicate focus distance, naming both frames", () => {
    expect(rejection({ version: 1, frames: frames([0.5, 1, 0.5]) })).toBe(
      "frames[2].focusDistance: duplicate focusDistance 0.5 (also frame 0): focus distances must be distinct",
    );
  });

  it("rejects zero and negative focus distances", () => {
    expect(rejection({ version: 1, frames: frames([0.5, 0]) })).toBe(
      "frames[1].focusDistance: focusDistance must be > 0",
    );
    expect(rejection({ version: 1, frames: frames([-1, 0.5]) })).toBe(
      "frames[0].focusDistance: focusDistance must be > 0",
    );
  });

  it("rejects NaN, non-number and infinite focus distances", () => {
    expect(rejection({ version: 1, frames: frames([0.5, Number.NaN]) })).toBe(
      "frames[1].focusDistance: focusDistance must be finite",
    );
    expect(rejection({ version: 1, frames: frames([0.5, Number.POSITIVE_INFINITY]) })).toBe(
      "frames[1].focusDistance: focusDistance must be finite",
    );
    // JSON.parse turns an overflowing literal into Infinity: the message must say what is wrong.
    const overflow = JSON.parse(
      '{"version":1,"frames":[{"file":"a.jpg","focusDistance":1e999},{"file":"b.jpg","focusDistance":1}]}',
    );
    expect(rejection(overflow)).toBe("frames[0].focusDistance: focusDistance must be finite");
    expect(rejection({ version: 1, frames: frames([0.5, "1"]) })).toBe(
      "frames[1].focusDistance: focusDistance must be a number",
    );
    expect(
      rejection({ version: 1, frames: [{ file: "a.jpg" }, { file: "b.jpg", focusDistance: 1 }] }),
    ).toBe("frames[0].focusDistance: focusDistance must be a number");
  });

  it("rejects path-like frame file names", () => {
    for (const file of ["../x.jpg", "a/b.jpg", "a\\b.png", "/etc/x.png", ".."]) {
      const msg = rejection({
        version: 1,
        frames: [
          { file: "ok.jpg", focusDistance: 1 },
          { file, focusDistance: 2 },
        ],
      });
      expect(msg).toContain("frames[1].file: frame file must be a plain file name, not a path");
    }
  });

  it("rejects wrong extensions and empty names", () => {
    for (const file of ["x.gif", "x.jpg.exe", "x", "xjpg"]) {
      expect(
        rejection({
          version: 1,
          frames: [
            { file, focusDistance: 1 },
            { file: "ok.png", focusDistance: 2 },
          ],
        }),
      ).toBe("frames[0].file: frame file must end in .jpg, .jpeg or .png");
    }
    expect(
      rejection({
        version: 1,
        frames: [
          { file: "", focusDistance: 1 },
          { file: "ok.png", focusDistance: 2 },
        ],
      }),
    ).toContain("frames[0].file: frame file name is empty");
  });

  it("rejects a duplicate frame file", () => {
    expect(
      rejection({
        version: 1,
        frames: [
          { file: "x.jpg", focusDistance: 1 },
          { file: "y.jpg", focusDistance: 2 },
          { file: "x.jpg", focusDistance: 3 },
        ],
      }),
    ).toBe('frames[2].file: duplicate frame file "x.jpg" (also frame 0)');
  });

  it("rejects a reference that is not a frame index", () => {
    expect(rejection({ ...good(), reference: 4 })).toBe(
      "reference: reference 4 is not a frame index (0..3)",
    );
    expect(rejection({ ...good(), reference: 1.5 })).toBe(
      "reference: reference must be an integer frame index",
    );
    expect(rejection({ ...good(), reference: -1 })).toMatch(/^reference: /);
  });

  it("rejects a bad or missing version", () => {
    expect(rejection({ ...good(), version: 2 })).toBe("version: version must be 1");
    expect(rejection({ ...good(), version: "1" })).toBe("version: version must be 1");
    expect(rejection({ frames: good().frames })).toBe("version: version must be 1");
  });

  it("rejects an unknown focusUnit", () => {
    expect(rejection({ ...good(), focusUnit: "cm" })).toBe(
      'focusUnit: focusUnit must be "m" or "diopter"',
    );
  });

  it("rejects a depth range whose min is not below its max", () => {
    for (const depthRange of [
      { min: 2, max: 2 },
      { min: 3, max: 2 },
    ]) {
      expect(rejection({ ...good(), depthRange })).toBe(
        "depthRange: depthRange.min must be below depthRange.max",
      );
    }
    expect(rejection({ ...good(), depthRange: { min: 0, max: 2 } })).toBe(
      "depthRange.min: depthRange.min must be > 0",
    );
  });

  it("rejects bad camera values", () => {
    expect(rejection({ ...good(), camera: { fNumber: -1.8 } })).toBe(
      "camera.fNumber: camera.fNumber must be > 0",
    );
  });

  it("lists every problem, not just the first", () => {
    const msg = rejection({
      version: 1,
      frames: [
        { file: "a.jpg", focusDistance: -1 },
        { file: "b.bmp", focusDistance: 2 },
      ],
    });
    expect(msg.split("; ")).toEqual([
      "frames[0].focusDistance: focusDistance must be > 0",
      "frames[1].file: frame file must end in .jpg, .jpeg or .png",
    ]);
  });

  it("rejects non-objects", () => {
    for (const input of [null, undefined, 42, "capture", []]) rejection(input);
  });
});

describe("captureFromFileNames", () => {
  it("reads HybridDepth names, sorted by frame number, ignoring other files", () => {
    const c = captureFromFileNames([
      "image_10_3.0.jpg",
      "notes.txt",
      "image_2_0.45.JPG",
      "gt_depth.png",
      "image_1_0.3.png",
      "image_x_1.jpg",
      "image_3_.jpg",
      "image_5_1.jpeg",
    ]);
    expect(c).toBeDefined();
    expect(c!.version).toBe(1);
    expect(c!.focusUnit).toBe("m");
    expect(c!.frames).toEqual([
      { file: "image_1_0.3.png", focusDistance: 0.3 },
      { file: "image_2_0.45.JPG", focusDistance: 0.45 },
      { file: "image_5_1.jpeg", focusDistance: 1 },
      { file: "image_10_3.0.jpg", focusDistance: 3 },
    ]);
  });

  it("returns undefined when no file follows the convention", () => {
    expect(captureFromFileNames([])).toBeUndefined();
    expect(captureFromFileNames(["f00.jpg", "capture.json", "image_1.jpg"])).toBeUndefined();
  });

  it("validates what it builds", () => {
    expect(() => captureFromFileNames(["image_0_1.jpg"])).toThrow(HybridDepthError);
    expect(() => captureFromFileNames(["image_0_1.jpg", "image_1_1.0.png"])).toThrow(
      /duplicate focusDistance/,
    );
  });
});

describe("focusDiopters and referenceIndex", () => {
  it("converts metres to diopters and passes diopters through", () => {
    const m = parseCapture({ version: 1, frames: frames([0.25, 0.5, 2]) });
    expect(Array.from(focusDiopters(m))).toEqual([4, 2, 0.5]);
    const d = parseCapture({ version: 1, focusUnit: "diopter", frames: frames([4, 2, 0.5]) });
    expect(Array.from(focusDiopters(d))).toEqual([4, 2, 0.5]);
    expect(focusDiopters(m)).toBeInstanceOf(Float64Array);
  });

  it("defaults the reference to the middle of the stack in diopter order", () => {
    // Diopters: 2, 0.5, 4, 1, 0.25 → sorted 0.25 (i4), 0.5 (i1), 1 (i3), 2 (i0), 4 (i2): middle is i3.
    const odd = parseCapture({ version: 1, frames: frames([0.5, 2, 0.25, 1, 4]) });
    expect(referenceIndex(odd)).toBe(3);
    // Even count: the lower middle. Sorted diopters 0.5 (i1), 1 (i3), 2 (i0), 4 (i2) → i3.
    const even = parseCapture({ version: 1, frames: frames([0.5, 2, 0.25, 1]) });
    expect(referenceIndex(even)).toBe(3);
    // In diopter units the same positions give the same answer.
    const dio = parseCapture({
      version: 1,
      focusUnit: "diopter",
      frames: frames([2, 0.5, 4, 1, 0.25]),
    });
    expect(referenceIndex(dio)).toBe(3);
  });

  it("uses an explicit reference when given", () => {
    const c = parseCapture({ version: 1, frames: frames([0.5, 2, 0.25, 1, 4]), reference: 0 });
    expect(referenceIndex(c)).toBe(0);
  });
});

describe("physical bounds", () => {
  const cases: [string, unknown, RegExp][] = [
    ["1e308 m", { ...good(), frames: frames([0.5, 1e308]) }, /between 0.01 and 1000 m/],
    ["5e-324 m", { ...good(), frames: frames([5e-324, 1]) }, /between 0.01 and 1000 m/],
    [
      "1e-300 diopters",
      { ...good(), focusUnit: "diopter", frames: frames([1e-300, 2]) },
      /between 0.001 and 100 diopters \(focusUnit "diopter"\)/,
    ],
    ["f/1e9", { ...good(), camera: { fNumber: 1e9 } }, /camera.fNumber must be between 0.5 and 64/],
    [
      "a 1e-9 mm lens",
      { ...good(), camera: { focalLengthMm: 1e-9 } },
      /camera.focalLengthMm must be between 0.5 and 2000 mm/,
    ],
    [
      "a 1e6 m depth range",
      { ...good(), depthRange: { min: 1, max: 1e6 } },
      /depthRange.max must be between 0.01 and 1000 m/,
    ],
  ];
  for (const [name, input, message] of cases)
    it(`refuses ${name}, naming the range`, () => {
      expect(rejection(input)).toMatch(message);
    });

  it("accepts the edges of each range", () => {
    expect(() => parseCapture({ ...good(), frames: frames([0.01, 1000]) })).not.toThrow();
    expect(() =>
      parseCapture({ ...good(), focusUnit: "diopter", frames: frames([0.001, 100]) }),
    ).not.toThrow();
  });
});
