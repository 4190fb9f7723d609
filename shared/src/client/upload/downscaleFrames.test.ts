import { describe, expect, it } from "vitest";
import type { CaptureHandle } from "../capture.ts";
import { canvasDownscaler, type FrameDownscaler } from "../downscale.ts";
import { fuse } from "../fuse.ts";
import type { CaptureMetadata } from "../types.ts";
import { downscaleFrames } from "./downscaleFrames.ts";

const meta: CaptureMetadata = {
  version: 1,
  frames: [
    { file: "a.png", focusDistance: 0.5, bytes: 8, contentType: "image/png" },
    { file: "b.jpg", focusDistance: 1, bytes: 6, contentType: "image/jpeg" },
    { file: "c.jpg", focusDistance: 2, bytes: 4, contentType: "image/jpeg" },
  ],
};
const frames = [new Uint8Array(8), new Uint8Array(6), new Uint8Array(4)];

/** Halves a frame's bytes, leaves 4-byte frames alone ("fits"), fails on 6-byte ones. */
const halving: FrameDownscaler = async (frame, contentType) => {
  const n = frame instanceof Uint8Array ? frame.byteLength : frame.size;
  const size = { width: n, height: 1 };
  if (n === 6) throw new Error("unreadable here");
  if (n === 4) return { body: frame, contentType, from: size, to: size };
  return {
    body: new Uint8Array(n / 2),
    contentType: "image/jpeg",
    from: size,
    to: { width: n / 2, height: 1 },
  };
};

describe("downscaleFrames", () => {
  it("declares the bytes and type sent; frames that fit or fail go as they are", async () => {
    const out = await downscaleFrames(meta, frames, halving);
    expect(out.frames.map((f) => (f as Uint8Array).byteLength)).toEqual([4, 6, 4]);
    expect(out.frames[1]).toBe(frames[1]);
    expect(out.frames[2]).toBe(frames[2]);
    expect(out.meta.frames.map((f) => [f.file, f.bytes, f.contentType])).toEqual([
      ["a.png", 4, "image/jpeg"],
      ["b.jpg", 6, "image/jpeg"],
      ["c.jpg", 4, "image/jpeg"],
    ]);
    expect(meta.frames[0]!.bytes).toBe(8); // the caller's metadata is not changed
  });

  it("fuse creates the capture with the downscaled metadata and uploads those bytes", async () => {
    const uploaded: number[] = [];
    let created: CaptureMetadata | undefined;
    const handle = {
      id: "c1",
      uploadFrame: async (i: number, body: Uint8Array) => {
        uploaded[i] = body.byteLength;
        return { index: i, bytes: body.byteLength, via: "put" };
      },
      finalize: async () => ({ id: "c1", state: "done", cacheHit: false, address: "x" }),
      waitForDepth: async () => ({ id: "c1", state: "done" }),
      getDepth: async () => ({ width: 1, height: 1, data: new Float32Array(1) }),
    } as unknown as CaptureHandle;
    const maker = {
      createCapture: async (m: CaptureMetadata) => {
        created = m;
        return handle;
      },
    };
    await fuse(maker, meta, frames, { downscale: halving });
    expect(created!.frames.map((f) => f.bytes)).toEqual([4, 6, 4]);
    expect(uploaded).toEqual([4, 6, 4]);
    await fuse(maker, meta, frames, { downscale: false });
    expect(created!.frames.map((f) => f.bytes)).toEqual([8, 6, 4]);
    expect(uploaded).toEqual([8, 6, 4]);
  });
});

describe("canvasDownscaler", () => {
  it("is undefined where the runtime has no canvas (Node)", () => {
    expect(canvasDownscaler()).toBeUndefined();
  });

  it("draws the upright bitmap at the work size with high smoothing and encodes JPEG", async () => {
    const drawn: unknown[] = [];
    const g = globalThis as Record<string, unknown>;
    g.createImageBitmap = async (_b: Blob, o: unknown) => {
      drawn.push(["bitmap", o]);
      return { width: 4080, height: 3072, close: () => drawn.push("closed") };
    };
    g.OffscreenCanvas = class {
      constructor(
        readonly width: number,
        readonly height: number,
      ) {
        drawn.push(["canvas", width, height]);
      }
      getContext() {
        return {
          imageSmoothingEnabled: false,
          imageSmoothingQuality: "low",
          drawImage(this: { imageSmoothingQuality: string }, _i: unknown, ...r: number[]) {
            drawn.push(["draw", this.imageSmoothingQuality, ...r]);
          },
        };
      }
      async convertToBlob(o: unknown) {
        drawn.push(["encode", o]);
        return new Blob([new Uint8Array(10)], { type: "image/jpeg" });
      }
    };
    try {
      const down = canvasDownscaler()!;
      const out = await down(new Uint8Array(100), "image/jpeg");
      expect(out.to).toEqual({ width: 2040, height: 1536 });
      expect(out.contentType).toBe("image/jpeg");
      expect((out.body as Blob).size).toBe(10);
      expect(drawn).toEqual([
        ["bitmap", { imageOrientation: "from-image" }],
        ["canvas", 2040, 1536],
        ["draw", "high", 0, 0, 2040, 1536],
        ["encode", { type: "image/jpeg", quality: 0.95 }],
        "closed",
      ]);
    } finally {
      delete g.createImageBitmap;
      delete g.OffscreenCanvas;
    }
  });
});
