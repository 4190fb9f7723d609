import { type FrameSize, MAX_WORK_PIXELS, workSize } from "../pipeline/workSize.ts";
import type { FrameBody, FrameContentType } from "./types.ts";

/**
 * On-device downscaling before upload: the pipeline works at `workSize` (a 12 MP frame at
 * 3 MP), so sending more pixels than that only costs the user's uplink. The frame is reduced
 * to exactly the size the server would resample it to and re-encoded as a high-quality JPEG.
 */

/** JPEG quality of downscaled frames: re-encoding loss stays well below the focus signal. */
export const DOWNSCALE_JPEG_QUALITY = 0.95;

export interface DownscaledFrame {
  body: FrameBody;
  contentType: FrameContentType;
  /** The frame's upright size before, and the size it was reduced to (equal when it fit). */
  from: FrameSize;
  to: FrameSize;
}

/**
 * Reduces one frame to `workSize` of its upright size, or returns it unchanged when it fits.
 * The SDK calls it on every frame before the capture is created (the metadata declares the
 * bytes that will be sent).
 */
export type FrameDownscaler = (
  frame: FrameBody,
  contentType: FrameContentType,
) => Promise<DownscaledFrame>;

export interface CanvasDownscaleOptions {
  /** Pixel budget (default: the pipeline's, `MAX_WORK_PIXELS`). */
  maxPixels?: number;
  /** JPEG quality in (0, 1] (default `DOWNSCALE_JPEG_QUALITY`). */
  quality?: number;
}

// shared/ is typed without the DOM lib: what it uses of a canvas is spelled out here.
interface Bitmap {
  readonly width: number;
  readonly height: number;
  close(): void;
}
interface Canvas2D {
  imageSmoothingEnabled: boolean;
  imageSmoothingQuality: "low" | "medium" | "high";
  drawImage(image: Bitmap, dx: number, dy: number, dw: number, dh: number): void;
}
interface AnyCanvas {
  width: number;
  height: number;
  getContext(kind: "2d"): Canvas2D | null;
  convertToBlob?(o: { type: string; quality: number }): Promise<Blob>;
  toBlob?(cb: (b: Blob | null) => void, type: string, quality: number): void;
}
interface CanvasGlobals {
  createImageBitmap?: (b: Blob, o?: { imageOrientation?: "from-image" }) => Promise<Bitmap>;
  OffscreenCanvas?: new (w: number, h: number) => AnyCanvas;
  document?: { createElement(tag: "canvas"): AnyCanvas };
}

/**
 * The browser's downscaler: `createImageBitmap` (upright per EXIF) drawn with high-quality
 * smoothing onto an `OffscreenCanvas` (or a `<canvas>`), encoded as JPEG. Undefined where the
 * runtime has no such canvas (Node, workerd): there the SDK uploads frames as they are, unless
 * given a downscaler of its own.
 */
export function canvasDownscaler(
  options: CanvasDownscaleOptions = {},
): FrameDownscaler | undefined {
  const g = globalThis as unknown as CanvasGlobals;
  const makeCanvas = canvasMaker(g);
  if (!g.createImageBitmap || !makeCanvas) return undefined;
  const createBitmap = g.createImageBitmap;
  const maxPixels = options.maxPixels ?? MAX_WORK_PIXELS;
  const quality = options.quality ?? DOWNSCALE_JPEG_QUALITY;
  return async function downscaleOnCanvas(frame, contentType) {
    const blob =
      frame instanceof Blob
        ? frame
        : new Blob([frame as Uint8Array<ArrayBuffer>], { type: contentType });
    const bitmap = await createBitmap(blob, { imageOrientation: "from-image" });
    try {
      const from = { width: bitmap.width, height: bitmap.height };
      const to = workSize(from, maxPixels);
      if (to.width === from.width && to.height === from.height)
        return { body: frame, contentType, from, to: from };
      const body = await drawJpeg(bitmap, to, makeCanvas, quality);
      return { body, contentType: "image/jpeg", from, to: { width: to.width, height: to.height } };
    } finally {
      bitmap.close();
    }
  };
}

function encodeJpeg(canvas: AnyCanvas, quality: number): Promise<Blob> {
  if (canvas.convertToBlob) return canvas.convertToBlob({ type: "image/jpeg", quality });
  return new Promise((resolve, reject) =>
    canvas.toBlob!(
      (b) => (b ? resolve(b) : reject(new Error("canvas JPEG encoding failed"))),
      "image/jpeg",
      quality,
    ),
  );
}

type CanvasMaker = (w: number, h: number) => AnyCanvas;

function canvasMaker(g: CanvasGlobals): CanvasMaker | undefined {
  if (g.OffscreenCanvas !== undefined) return (w, h) => new g.OffscreenCanvas!(w, h);
  if (g.document !== undefined)
    return (w, h) => Object.assign(g.document!.createElement("canvas"), { width: w, height: h });
  return undefined;
}

/** `bitmap` drawn at `to` with high-quality smoothing, as a JPEG. */
function drawJpeg(
  bitmap: Bitmap,
  to: FrameSize,
  makeCanvas: CanvasMaker,
  quality: number,
): Promise<Blob> {
  const canvas = makeCanvas(to.width, to.height);
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("no 2d canvas context");
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, to.width, to.height);
  return encodeJpeg(canvas, quality);
}

/**
 * One frame (a JPEG/PNG Blob, or a bitmap such as `grabFrame()` returns) at the pipeline's work
 * size, as a JPEG Blob, for a page that holds frames as Blobs (the capture page). A Blob that
 * already fits is returned as it is (no second JPEG generation).
 */
export async function downscaleFrame(
  frame: Blob | Bitmap,
  maxPixels: number = MAX_WORK_PIXELS,
): Promise<{ blob: Blob; width: number; height: number; scaled: boolean }> {
  const g = globalThis as unknown as CanvasGlobals;
  const makeCanvas = canvasMaker(g);
  if (!g.createImageBitmap || !makeCanvas) throw new Error("no canvas to downscale on");
  const bitmap =
    frame instanceof Blob
      ? await g.createImageBitmap(frame, { imageOrientation: "from-image" })
      : frame;
  try {
    const from = { width: bitmap.width, height: bitmap.height };
    const to = workSize(from, maxPixels);
    const scaled = to.width !== from.width || to.height !== from.height;
    if (frame instanceof Blob && !scaled) return { blob: frame, ...from, scaled };
    const blob = await drawJpeg(bitmap, to, makeCanvas, DOWNSCALE_JPEG_QUALITY);
    return { blob, width: to.width, height: to.height, scaled };
  } finally {
    if (frame instanceof Blob) bitmap.close();
  }
}
