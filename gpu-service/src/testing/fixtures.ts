import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import type { CaptureInput } from "#shared/capture/schema.ts";
import type { AnyRgbImage } from "#shared/image/types.ts";
import { mulberry32 } from "#shared/math/stats.ts";
import type { Prior } from "../prior/priorRunner.ts";

/** Folders made by `tempDir` and not yet removed. */
const madeDirs = new Set<string>();
let removesAtExit = false;

/**
 * A fresh temporary folder for one test (or bench). It is removed by `removeTempDirs`, which
 * every test file runs after its tests (test/helpers/removeTempDirs.ts), else when the process
 * exits: a test run used to leave hundreds of them behind.
 */
export async function tempDir(prefix = "hybriddepth-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (!removesAtExit) {
    process.once("exit", removeTempDirsNow);
    removesAtExit = true;
  }
  madeDirs.add(dir);
  return dir;
}

/** Removes every folder `tempDir` made, with what is in it. */
export async function removeTempDirs(): Promise<void> {
  const dirs = [...madeDirs];
  madeDirs.clear();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}

function removeTempDirsNow(): void {
  for (const d of madeDirs) rmSync(d, { recursive: true, force: true });
  madeDirs.clear();
}

/** Deterministic textured RGB bytes: blurred noise blobs, enough structure to register and focus on. */
export function texture(width: number, height: number, seed = 1): Uint8Array {
  const rnd = mulberry32(seed);
  const coarse = 8;
  const cw = Math.ceil(width / coarse) + 2;
  const ch = Math.ceil(height / coarse) + 2;
  const grid = Float32Array.from({ length: cw * ch * 3 }, () => rnd());
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const gx = x / coarse;
      const gy = y / coarse;
      const x0 = Math.floor(gx);
      const y0 = Math.floor(gy);
      const fx = gx - x0;
      const fy = gy - y0;
      for (let c = 0; c < 3; c++) {
        const g = (xx: number, yy: number) => grid[(yy * cw + xx) * 3 + c]!;
        const v =
          (g(x0, y0) * (1 - fx) + g(x0 + 1, y0) * fx) * (1 - fy) +
          (g(x0, y0 + 1) * (1 - fx) + g(x0 + 1, y0 + 1) * fx) * fy;
        out[(y * width + x) * 3 + c] = Math.round(255 * (0.7 * v + 0.3 * rnd()));
      }
    }
  }
  return out;
}

export async function encodeRaw(
  rgb: Uint8Array,
  width: number,
  height: number,
  format: "png" | "jpeg",
): Promise<Buffer> {
  const s = sharp(rgb, { raw: { width, height, channels: 3 } });
  return format === "png" ? s.png().toBuffer() : s.jpeg({ quality: 95 }).toBuffer();
}

/** Writes a capture folder: capture.json plus the given frame files. */
export async function writeCapture(
  dir: string,
  capture: CaptureInput,
  frames: Record<string, Uint8Array>,
): Promise<string> {
  await writeFile(join(dir, "capture.json"), JSON.stringify(capture));
  for (const [name, bytes] of Object.entries(frames)) await writeFile(join(dir, name), bytes);
  return dir;
}

/**
 * A prior that is a plain function of the image (relative inverse depth at its size): the same
 * bits on every machine, unlike a model's CPU kernels, which are chosen by the instruction set.
 */
export function functionPrior(name: string, infer: (rgb: AnyRgbImage) => Float32Array): Prior {
  const run = async (rgb: AnyRgbImage) => infer(rgb);
  return {
    name,
    provider: "cpu",
    maxBatch: 1,
    cpuThreads: 1,
    ownThread: false,
    infer: run,
    inferBatch: (images) => Promise.all(images.map(run)),
  };
}
