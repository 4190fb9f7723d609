import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { colorizeDepth, turbo } from "#shared/image/colormap.ts";
import { renderPreview } from "./preview.ts";

// A 160×120 scene: a depth ramp 0.5 → 3 m left to right, a reference with a pattern of its own.
const w = 160;
const h = 120;
const depth = new Float32Array(w * h);
const reference = new Uint8Array(w * h * 3);
for (let y = 0; y < h; y++)
  for (let x = 0; x < w; x++) {
    depth[y * w + x] = 0.5 + (2.5 * x) / (w - 1);
    for (let c = 0; c < 3; c++) reference[3 * (y * w + x) + c] = (x * 3 + y * 5 + c * 70) % 256;
  }

/** The PNG's RGB samples (and whether every pixel is opaque). */
async function pixels(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const k = info.channels;
  const at = (x: number, y: number) =>
    Array.from(data.subarray(k * (y * info.width + x), k * (y * info.width + x) + 3));
  let opaque = true;
  if (k === 4) for (let i = 3; i < data.length; i += 4) opaque &&= data[i] === 255;
  return { info, at, opaque };
}

describe("renderPreview", () => {
  it("lays out the reference, the colorized depth, the bar and its labels", async () => {
    const png = await renderPreview(
      { width: w, height: h, data: reference },
      { width: w, height: h, data: depth },
    );
    const { info, at, opaque } = await pixels(png);
    const fontPx = Math.max(10, Math.round(h / 28));
    const barWidth = Math.max(12, Math.round(w * 0.04));
    const stripLeft = 2 * w + 4 + barWidth;
    expect(opaque).toBe(true);
    expect(info.height).toBe(h);
    expect(info.width).toBe(2 * w + barWidth + Math.round(fontPx * 4.2) + 8);
    // Left: the reference as it came; middle: the depth's colours (spaced between its 2nd and
    // 98th percentiles, so the ramp's ends saturate), nearer warmer.
    for (const [x, y] of [
      [0, 0],
      [17, 33],
      [w - 1, h - 1],
    ] as const)
      expect(at(x, y)).toEqual(
        Array.from(reference.subarray(3 * (y * w + x), 3 * (y * w + x) + 3)),
      );
    const ramp = colorizeDepth(depth.subarray(0, w), 0.55, 2.95);
    const middle = Array.from({ length: w }, (_, x) => at(w + x, h / 2));
    expect(middle[0]![0]! - middle[0]![2]!).toBeGreaterThan(
      middle[w - 1]![0]! - middle[w - 1]![2]!,
    );
    for (const x of [0, w - 1])
      expect(middle[x]).toEqual(Array.from(ramp.subarray(3 * x, 3 * x + 3)));
    // The bar: near (top) to far (bottom), a turbo colour per row; white around it.
    expect(at(2 * w + 4 + barWidth / 2, 0)).toEqual(turbo(1));
    expect(at(2 * w + 4 + barWidth / 2, h - 1)).toEqual(turbo(0));
    expect(at(2 * w + 1, h / 2)).toEqual([255, 255, 255]);
    // The labels: dark text in the strip right of the bar, near each of the 6 ticks, and none
    // cut off at the strip's left edge.
    const dark = (x: number, y: number) => Math.max(...at(x, y)) < 128;
    const rows = Array.from({ length: h }, (_, y) => {
      let first = -1;
      for (let x = stripLeft; x < info.width; x++)
        if (dark(x, y)) {
          first = x;
          break;
        }
      return first;
    });
    const textRows = rows.filter((x) => x >= 0);
    expect(textRows.length).toBeGreaterThan(h / 4);
    expect(Math.min(...textRows)).toBeGreaterThan(stripLeft + 1);
    expect(Math.min(...textRows)).toBeLessThanOrEqual(stripLeft + 4 + fontPx / 2);
    for (const tick of [0, 1, 2, 3, 4, 5]) {
      const y = Math.min(h - 2, Math.max(fontPx, Math.round((tick / 5) * (h - 1)) + fontPx / 3));
      expect(
        rows.slice(Math.max(0, Math.floor(y - fontPx)), Math.ceil(y) + 1).some((x) => x >= 0),
      ).toBe(true);
    }
  });

  it("resamples a reference of another size to the depth's", async () => {
    const small = new Uint8Array((w / 2) * (h / 2) * 3);
    for (let i = 0; i < small.length; i++) small[i] = (i * 37) % 256;
    const png = await renderPreview(
      { width: w / 2, height: h / 2, data: small },
      { width: w, height: h, data: depth },
    );
    const { info, at } = await pixels(png);
    expect(info.height).toBe(h);
    const resized = await sharp(small, { raw: { width: w / 2, height: h / 2, channels: 3 } })
      .resize(w, h, { fit: "fill" })
      .raw()
      .toBuffer();
    for (const [x, y] of [
      [0, 0],
      [31, 47],
      [w - 1, h - 1],
    ] as const)
      expect(at(x, y)).toEqual(Array.from(resized.subarray(3 * (y * w + x), 3 * (y * w + x) + 3)));
  });

  it("dims depth from focus alone by its confidence", async () => {
    const confidence = new Float32Array(w * h).fill(1);
    confidence.fill(0, 0, (w * h) / 2); // the top half unconfident
    const plane = { width: w, height: h, data: depth };
    const ref = { width: w, height: h, data: reference };
    const plain = await pixels(await renderPreview(ref, plane));
    const dimmed = await pixels(
      await renderPreview(ref, plane, { confidence: { width: w, height: h, data: confidence } }),
    );
    const x = w + w / 2;
    expect(dimmed.at(x, h - 1)).toEqual(plain.at(x, h - 1));
    expect(dimmed.at(x, 0)).toEqual(plain.at(x, 0).map((v) => Math.round(v * 0.25)));
  });
});
