import sharp from "sharp";
import { colorizeDepth, depthAtBarPosition, turbo } from "#shared/image/colormap.ts";
import type { Plane, Rgb8Image } from "#shared/image/types.ts";
import { quantile } from "#shared/math/stats.ts";
import type { PipelineOutput } from "../pipeline/runPipeline.ts";

const BAR_WIDTH_FRACTION = 0.04;
const TICKS = 6;
/** Pixels between the colour bar and its labels. */
const LABEL_GAP = 4;

export interface PreviewOptions {
  /** Dim pixels by confidence (for depth from focus alone, where confidence says what to trust). */
  confidence?: Plane;
}

/**
 * A run's preview.png: dimmed by confidence when depth from focus alone is the answer (there
 * confidence says what to trust).
 */
export function renderRunPreview(
  out: Pick<PipelineOutput, "reference" | "depth" | "confidence" | "result">,
): Promise<Buffer> {
  return renderPreview(
    out.reference,
    out.depth,
    out.result.stage === "dff" ? { confidence: out.confidence } : {},
  );
}

/**
 * preview.png: the reference image, the colorized depth beside it, and a colour bar labelled
 * in metres. Colours span the 2nd–98th depth percentile, spaced in inverse depth.
 */
export async function renderPreview(
  reference: Rgb8Image,
  depth: Plane,
  options: PreviewOptions = {},
): Promise<Buffer> {
  const { width: w, height: h } = depth;
  const near = quantile(sample(depth.data), 0.02);
  const far = quantile(sample(depth.data), 0.98);
  const [lo, hi] = far > near * 1.01 ? [near, far] : [near * 0.9, near * 1.1];
  const colors = colorizeDepth(depth.data, lo, hi);
  if (options.confidence) {
    const c = options.confidence.data;
    for (let i = 0; i < w * h; i++) {
      const k = 0.25 + 0.75 * Math.min(1, Math.max(0, c[i]!));
      for (let j = 0; j < 3; j++) colors[3 * i + j] = Math.round(colors[3 * i + j]! * k);
    }
  }
  // At the depth's size already (the pipeline's reference is at work size), it is not resampled:
  // then nothing here waits before the PNG's compression starts on sharp's threads, and a caller
  // can convert other parts meanwhile.
  const ref =
    reference.width === w && reference.height === h
      ? reference.data
      : await sharp(reference.data, {
          raw: { width: reference.width, height: reference.height, channels: 3 },
        })
          .resize(w, h, { fit: "fill" })
          .raw()
          .toBuffer();
  // Bar and labels scale with the image so they stay legible on 12 MP frames.
  const fontPx = Math.max(10, Math.round(h / 28));
  const barWidth = Math.max(12, Math.round(w * BAR_WIDTH_FRACTION));
  const total = 2 * w + barWidth + Math.round(fontPx * 4.2) + 8;
  const canvas = new Uint8Array(total * h * 3).fill(255);
  for (let y = 0; y < h; y++) {
    canvas.set(ref.subarray(y * w * 3, (y + 1) * w * 3), y * total * 3);
    canvas.set(colors.subarray(y * w * 3, (y + 1) * w * 3), (y * total + w) * 3);
    // Bar: top is near (warm), bottom far, linear in inverse depth like the image.
    const [r, g, b] = turbo(1 - y / Math.max(1, h - 1));
    const bar = (y * total + 2 * w + 4) * 3;
    for (let x = 0; x < barWidth; x++) {
      canvas[bar + 3 * x] = r;
      canvas[bar + 3 * x + 1] = g;
      canvas[bar + 3 * x + 2] = b;
    }
  }
  // The labels are drawn on their own strip right of the bar, not on an overlay the size of
  // the whole canvas: rasterizing and blending that took ≈ 150 ms of a 12 MP preview, for the
  // same pixels (an overlay is transparent everywhere but the text).
  const strip = 2 * w + 4 + barWidth;
  const labels = Array.from({ length: TICKS }, (_, k) => {
    const pos = k / (TICKS - 1);
    const y = Math.min(h - 2, Math.max(fontPx, Math.round(pos * (h - 1)) + fontPx / 3));
    const m = depthAtBarPosition(1 - pos, lo, hi);
    return `<text x="${LABEL_GAP}" y="${y}">${m < 10 ? m.toFixed(2) : m.toFixed(1)} m</text>`;
  }).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${total - strip}" height="${h}"><g font-family="DejaVu Sans, sans-serif" font-size="${fontPx}" fill="#000">${labels}</g></svg>`;
  return sharp(canvas, { raw: { width: total, height: h, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: strip }])
    .removeAlpha()
    .png()
    .toBuffer();
}

function sample(d: Float32Array): Float32Array {
  const step = Math.max(1, Math.floor(d.length / 50000));
  const out = new Float32Array(Math.ceil(d.length / step));
  for (let i = 0, j = 0; i < d.length; i += step, j++) out[j] = d[i]! > 0 ? d[i]! : Number.NaN;
  return out;
}
