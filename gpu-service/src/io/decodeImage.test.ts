import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { encode } from "fast-png";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { sampleUnit } from "#shared/image/types.ts";
import { encodeRaw, texture } from "../testing/fixtures.ts";
import {
  decodeGray16,
  decodeRgb,
  decodeSamples,
  probeImage,
  SCRATCH_PREFIX,
} from "./decodeImage.ts";
import { encodePng16 } from "./encodeImage.ts";

describe("decodeRgb", () => {
  it("decodes 8-bit PNG exactly and JPEG closely, to RGB floats in [0, 1]", async () => {
    const rgb = texture(32, 24);
    const png = await decodeRgb(await encodeRaw(rgb, 32, 24, "png"), "t.png");
    expect(png.width).toBe(32);
    expect(png.height).toBe(24);
    expect(png.data.length).toBe(32 * 24 * 3);
    for (let i = 0; i < rgb.length; i += 37) expect(png.data[i]).toBeCloseTo(rgb[i]! / 255, 5);
    const jpg = await decodeRgb(await encodeRaw(rgb, 32, 24, "jpeg"), "t.jpg");
    // JPEG is lossy (noise texture, chroma subsampling): same image on average, close per pixel.
    let err = 0;
    let bias = 0;
    for (let i = 0; i < rgb.length; i++) {
      err += Math.abs(jpg.data[i]! - rgb[i]! / 255);
      bias += jpg.data[i]! - rgb[i]! / 255;
    }
    expect(err / rgb.length).toBeLessThan(0.08);
    expect(Math.abs(bias / rgb.length)).toBeLessThan(0.01);
  });

  it("keeps 16-bit PNG precision and expands gray to RGB", async () => {
    const values = Uint16Array.from({ length: 8 * 4 }, (_, i) => i * 2000 + 7);
    const bytes = encode({ width: 8, height: 4, data: values, depth: 16, channels: 1 });
    const img = await decodeRgb(bytes, "g16.png");
    for (let i = 0; i < values.length; i++) {
      expect(img.data[3 * i]).toBeCloseTo(values[i]! / 65535, 6);
      expect(img.data[3 * i + 2]).toBe(img.data[3 * i]);
    }
  });

  it("honours EXIF orientation (6 = rotate 90° clockwise)", async () => {
    // A 4×2 image whose left column is white: upright it becomes 2×4 with the top row white.
    const raw = new Uint8Array(4 * 2 * 3);
    for (let y = 0; y < 2; y++) raw.set([255, 255, 255], y * 4 * 3);
    const jpg = await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect(await probeImage(jpg, "o.jpg")).toEqual({ width: 2, height: 4 });
    const img = await decodeRgb(jpg, "o.jpg");
    expect([img.width, img.height]).toEqual([2, 4]);
    const top = img.data[0]!;
    const bottom = img.data[(3 * 2 + 0) * 3]!;
    expect(top).toBeGreaterThan(0.7);
    expect(bottom).toBeLessThan(0.3);
  });

  it("resamples to the requested size", async () => {
    const img = await decodeRgb(await encodeRaw(texture(64, 48), 64, 48, "png"), "t.png", {
      width: 32,
      height: 24,
    });
    expect([img.width, img.height]).toEqual([32, 24]);
  });

  it("decodes a JPEG straight to an exact 1/2, 1/4, 1/8 (DCT scaling), upright, close to a resample", async () => {
    const [w, h] = [256, 192];
    const raw = texture(w, h, 5);
    const smooth = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
      .blur(2)
      .raw()
      .toBuffer();
    const jpg = await encodeRaw(smooth, w, h, "jpeg");
    const png = await encodeRaw(smooth, w, h, "png");
    for (const d of [2, 4, 8]) {
      const size = { width: w / d, height: h / d };
      const dct = await decodeRgb(jpg, "t.jpg", size);
      expect([dct.width, dct.height]).toEqual([w / d, h / d]);
      const resampled = await decodeRgb(png, "t.png", size);
      let err = 0;
      for (let i = 0; i < dct.data.length; i++) err += Math.abs(dct.data[i]! - resampled.data[i]!);
      expect(err / dct.data.length).toBeLessThan(0.03);
    }
    // EXIF orientation 6: the work size is given upright (portrait) and the result is upright.
    const rotated = await sharp(jpg).withMetadata({ orientation: 6 }).toBuffer();
    const up = await decodeRgb(rotated, "r.jpg", { width: h / 2, height: w / 2 });
    expect([up.width, up.height]).toEqual([h / 2, w / 2]);
    const ref = await decodeRgb(jpg, "t.jpg", { width: w / 2, height: h / 2 });
    // Upright pixel (x, y) is the stored pixel (y, H − 1 − x) after a 90° clockwise turn.
    const [uw, rw, rh] = [h / 2, w / 2, h / 2];
    for (const [x, y] of [
      [3, 5],
      [40, 100],
      [90, 10],
    ] as const)
      expect(up.data[3 * (y * uw + x)]).toBeCloseTo(ref.data[3 * ((rh - 1 - x) * rw + y)]!, 1);
    // A truncated JPEG on the DCT path is refused like any other.
    await expect(
      decodeRgb(jpg.subarray(0, jpg.length >> 1), "cut.jpg", { width: w / 2, height: h / 2 }),
    ).rejects.toMatchObject({ code: "frame_unreadable" });
    // The DCT path's scratch files (libvips reads `file[shrink=N]`) are gone, the failed one too.
    const left = (await readdir(tmpdir())).filter((f) => f.startsWith(SCRATCH_PREFIX));
    expect(left).toEqual([]);
  });

  it("rejects bytes that are no image, other formats and truncated JPEGs with frame_unreadable", async () => {
    await expect(probeImage(new Uint8Array([1, 2, 3, 4]), "junk.jpg")).rejects.toMatchObject({
      code: "frame_unreadable",
      message: expect.stringContaining("junk.jpg"),
    });
    const gif = await sharp(texture(8, 8), { raw: { width: 8, height: 8, channels: 3 } })
      .gif()
      .toBuffer();
    await expect(probeImage(gif, "a.gif")).rejects.toMatchObject({
      code: "frame_unreadable",
      message: expect.stringMatching(/gif is not JPEG or PNG/),
    });
    const jpg = await encodeRaw(texture(64, 64), 64, 64, "jpeg");
    await expect(decodeRgb(jpg.subarray(0, jpg.length >> 1), "cut.jpg")).rejects.toMatchObject({
      code: "frame_unreadable",
    });
  });

  it("rejects frames over the pixel limit from the header alone", async () => {
    const png = await encodeRaw(texture(100, 100), 100, 100, "png");
    await expect(probeImage(png, "big.png", 5_000)).rejects.toMatchObject({
      code: "frame_too_large",
      message: expect.stringContaining("100×100"),
    });
    await expect(decodeRgb(png, "big.png", undefined, 5_000)).rejects.toMatchObject({
      code: "frame_unreadable",
    });
  });
});

describe("decodeSamples", () => {
  it("gives decodeRgb's floats through the samples' table, for every kind of frame", async () => {
    const [w, h] = [64, 48];
    const rgb = texture(w, h, 3);
    const gray = Uint8Array.from({ length: w * h }, (_, i) => rgb[3 * i]!);
    const rgba = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .ensureAlpha(0.5)
      .png()
      .toBuffer();
    const wide = encode({
      width: w,
      height: h,
      data: Uint16Array.from(rgb, (v, i) => v * 257 + (i % 251)),
      depth: 16,
      channels: 3,
    });
    const frames: [string, Uint8Array, { width: number; height: number } | undefined][] = [
      ["jpeg", await encodeRaw(rgb, w, h, "jpeg"), undefined],
      ["jpeg at 1/2 (DCT)", await encodeRaw(rgb, w, h, "jpeg"), { width: w / 2, height: h / 2 }],
      ["png resampled", await encodeRaw(rgb, w, h, "png"), { width: 40, height: 30 }],
      [
        "gray png",
        await sharp(gray, { raw: { width: w, height: h, channels: 1 } })
          .png()
          .toBuffer(),
        undefined,
      ],
      ["rgba png", rgba, undefined],
      ["16-bit png", wide, undefined],
    ];
    for (const [kind, bytes, size] of frames) {
      const floats = await decodeRgb(bytes, kind, size);
      const samples = await decodeSamples(bytes, kind, size);
      expect([samples.width, samples.height], kind).toEqual([floats.width, floats.height]);
      expect(samples.data instanceof Uint16Array, kind).toBe(kind === "16-bit png");
      const unit = sampleUnit(samples.data);
      expect(
        Float32Array.from(samples.data, (v) => unit[v]!),
        kind,
      ).toEqual(floats.data);
    }
    // Into the buffers it is given (a pool thread's spare planes), and refused like decodeRgb.
    const into = new Uint8Array(new SharedArrayBuffer(3 * w * h));
    const got = await decodeSamples(
      await encodeRaw(rgb, w, h, "png"),
      "t.png",
      undefined,
      undefined,
      () => into,
    );
    expect(got.data).toBe(into);
    expect(Array.from(into.subarray(0, 9))).toEqual(Array.from(rgb.subarray(0, 9)));
    await expect(decodeSamples(new Uint8Array([1, 2, 3]), "x.jpg")).rejects.toMatchObject({
      code: "frame_unreadable",
    });
  });
});

describe("decodeGray16", () => {
  it("round-trips what encodePng16 writes", async () => {
    const mm = Uint16Array.from({ length: 12 }, (_, i) => i * 5000 + 1);
    const back = await decodeGray16(encodePng16(mm, 4, 3), "d.png");
    expect(Array.from(back.data)).toEqual(Array.from(mm));
  });
});
