import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import type { CaptureMetadata } from "../shared/src/client/types.ts";

/**
 * A capture bundle folder (capture.json + frames) as the upload API takes it: the metadata with
 * each frame's byte size and content type (from its extension), and the frames' bytes.
 */
export async function loadCaptureForUpload(
  dir: string,
): Promise<{ meta: CaptureMetadata; frames: Buffer[] }> {
  const bundle = JSON.parse(await readFile(join(dir, "capture.json"), "utf8")) as Omit<
    CaptureMetadata,
    "frames"
  > & { frames: { file: string; focusDistance: number }[] };
  const frames = await Promise.all(bundle.frames.map((f) => readFile(join(dir, f.file))));
  const meta: CaptureMetadata = {
    ...bundle,
    frames: bundle.frames.map((f, i) => ({
      ...f,
      bytes: frames[i]!.byteLength,
      contentType: extname(f.file).toLowerCase() === ".png" ? "image/png" : "image/jpeg",
    })),
  };
  return { meta, frames };
}
