import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { captureFromFileNames, parseCapture } from "#shared/capture/parse.ts";
import { HybridDepthError } from "#shared/errors.ts";
import type { CaptureSource } from "./captureSource.ts";

export const CAPTURE_FILE = "capture.json";
export const GROUND_TRUTH_FILE = "gt_depth.png";

/**
 * Opens a capture on disk: a folder with `capture.json` (the bundle of DESIGN.md), the
 * `capture.json` file itself, or a plain folder of frames named `image_<n>_<metres>.jpg`.
 */
export async function loadCaptureDir(path: string): Promise<CaptureSource> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new HybridDepthError("CAPTURE_NOT_FOUND", `${path}: no such file or folder`);
  const dir = info.isDirectory() ? path : dirname(path);
  const files = await readdir(dir);
  let capture: ReturnType<typeof parseCapture> | undefined;
  if (!info.isDirectory() || files.includes(CAPTURE_FILE)) {
    const file = info.isDirectory() ? join(dir, CAPTURE_FILE) : path;
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, "utf8"));
    } catch (e) {
      throw new HybridDepthError(
        "INVALID_CAPTURE",
        `${file}: not valid JSON (${(e as Error).message})`,
      );
    }
    capture = parseCapture(json);
  } else {
    capture = captureFromFileNames(files);
    if (!capture) {
      throw new HybridDepthError(
        "CAPTURE_NOT_FOUND",
        `${path}: no ${CAPTURE_FILE} and no frames named image_<n>_<metres>.jpg`,
      );
    }
  }
  const present = new Set(files);
  for (const [i, f] of capture.frames.entries()) {
    if (!present.has(f.file))
      throw new HybridDepthError("FRAME_MISSING", `frame ${i} (${f.file}) is not in ${dir}`);
  }
  const frames = capture.frames;
  return {
    name: basename(info.isDirectory() ? path : dir),
    capture,
    readFrame: (i) => readFile(join(dir, frames[i]!.file)),
    readGroundTruth: async () =>
      present.has(GROUND_TRUTH_FILE) ? readFile(join(dir, GROUND_TRUTH_FILE)) : undefined,
  };
}
