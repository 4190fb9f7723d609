/** The depth over the reference image: confidence shading, the distance under the finger, downloads. */
import type { CaptureHandle } from "../../../../shared/src/client/index.ts";
import { turbo } from "../../../../shared/src/image/colormap.ts";
import { depthSpan, isValidDepth, spanPosition } from "../../../../shared/src/image/depthSpan.ts";

/** How much of the depth colour lies over the reference image. */
const OVERLAY = 0.6;

const urls: string[] = [];

async function pixelsOf(bytes: Blob, width: number, height: number): Promise<Uint8ClampedArray> {
  const bitmap = await createImageBitmap(bytes);
  const c = new OffscreenCanvas(width, height);
  const ctx = c.getContext("2d")!;
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return ctx.getImageData(0, 0, width, height).data;
}

function download(id: string, bytes: Uint8Array, type: string): void {
  const a = document.getElementById(id) as HTMLAnchorElement;
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  urls.push(url);
  a.href = url;
}

export async function showDepth(capture: CaptureHandle, reference: Blob): Promise<void> {
  for (const u of urls.splice(0)) URL.revokeObjectURL(u);
  const [depth, confidence, png16, npy] = await Promise.all([
    capture.getDepth("f32"),
    capture.getDepth("confidence"),
    capture.getDepth("png16"),
    capture.getDepth("npy"),
  ]);
  const { width, height, data } = depth;
  const ref = await pixelsOf(reference, width, height);
  // The confidence output is one byte per pixel (0–255); shade nothing if its size is off.
  const conf = confidence.length === width * height ? confidence : undefined;
  const canvas = document.getElementById("depth") as HTMLCanvasElement;
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d")!;
  const image = ctx.createImageData(width, height);
  const span = depthSpan(data);
  const px = image.data;
  for (let i = 0; i < data.length; i++) {
    const d = data[i]!;
    const shade = conf ? 0.35 + 0.65 * (conf[i]! / 255) : 1; // low confidence: darker
    let rgb: [number, number, number] = [ref[4 * i]!, ref[4 * i + 1]!, ref[4 * i + 2]!];
    if (span && isValidDepth(d)) {
      const c = turbo(spanPosition(d, span));
      rgb = [0, 1, 2].map((k) => (1 - OVERLAY) * rgb[k]! + OVERLAY * c[k]!) as typeof rgb;
    }
    px[4 * i] = rgb[0] * shade;
    px[4 * i + 1] = rgb[1] * shade;
    px[4 * i + 2] = rgb[2] * shade;
    px[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  const depthAt = (x: number, y: number) => {
    const [xi, yi] = [Math.floor(x), Math.floor(y)];
    return xi >= 0 && yi >= 0 && xi < width && yi < height ? data[yi * width + xi]! : Number.NaN;
  };
  const readout = document.getElementById("readout")!;
  const onPoint = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    const x = Math.min(width - 1, Math.floor(((e.clientX - r.left) / r.width) * width));
    const y = Math.min(height - 1, Math.floor(((e.clientY - r.top) / r.height) * height));
    const d = depthAt(x, y);
    readout.textContent = d > 0 ? `${d.toFixed(2)} m` : "no depth here";
  };
  canvas.onpointermove = onPoint;
  canvas.onpointerdown = onPoint;
  document.getElementById("legend")!.textContent = span
    ? `red ${span[0].toFixed(2)} m (near) … blue ${span[1].toFixed(2)} m (far); darker = less confident`
    : "no valid depth";
  download("dlPng16", png16, "image/png");
  download("dlNpy", npy, "application/octet-stream");
  (globalThis as unknown as { hybridDepth: unknown }).hybridDepth = {
    captureId: capture.id,
    width,
    height,
    depthAt,
  };
  document.getElementById("result")!.hidden = false;
}
