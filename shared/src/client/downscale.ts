import { WORK_MAX_PIXELS } from "../pipeline/workSize.ts";

// The browser APIs used, typed here: shared/ is also compiled for Node, which lacks them.
interface Bitmap {
  readonly width: number;
  readonly height: number;
  close(): void;
}
interface Canvas2d {
  imageSmoothingQuality: string;
  drawImage(image: Bitmap, dx: number, dy: number, dw: number, dh: number): void;
}
interface BrowserImaging {
  createImageBitmap(blob: Blob): Promise<Bitmap>;
  OffscreenCanvas: new (
    w: number,
    h: number,
  ) => {
    getContext(kind: "2d"): Canvas2d | null;
    convertToBlob(o: { type: string; quality: number }): Promise<Blob>;
  };
}

/** JPEG quality of downscaled frames: high, since focus measures live in the fine detail. */
export const DOWNSCALE_JPEG_QUALITY = 0.95;

/** The size `width × height` fits at within `maxPixels`, aspect kept (never enlarged). */
export function fitWithin(
  width: number,
  height: number,
  maxPixels: number = WORK_MAX_PIXELS,
): { width: number; height: number } {
  const scale = Math.min(1, Math.sqrt(maxPixels / (width * height)));
  return {
    width: Math.max(1, Math.floor(width * scale)),
    height: Math.max(1, Math.floor(height * scale)),
  };
}

/**
 * A frame (JPEG/PNG Blob or a decoded bitmap) at most `maxPixels`, as a JPEG Blob, in browsers
 * and web workers (createImageBitmap + OffscreenCanvas). A Blob already small enough is
 * returned as it is (no second JPEG generation).
 */
export async function downscaleFrame(
  frame: Blob | Bitmap,
  maxPixels: number = WORK_MAX_PIXELS,
): Promise<{ blob: Blob; width: number; height: number; scaled: boolean }> {
  const web = globalThis as unknown as BrowserImaging;
  const bitmap = frame instanceof Blob ? await web.createImageBitmap(frame) : frame;
  try {
    const size = fitWithin(bitmap.width, bitmap.height, maxPixels);
    if (frame instanceof Blob && size.width === bitmap.width && size.height === bitmap.height)
      return { blob: frame, ...size, scaled: false };
    const canvas = new web.OffscreenCanvas(size.width, size.height);
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no 2d canvas to downscale on");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, size.width, size.height);
    const blob = await canvas.convertToBlob({
      type: "image/jpeg",
      quality: DOWNSCALE_JPEG_QUALITY,
    });
    return { blob, ...size, scaled: size.width !== bitmap.width };
  } finally {
    if (frame instanceof Blob) bitmap.close();
  }
}
