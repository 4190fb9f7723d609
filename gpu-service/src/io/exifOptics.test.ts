import { readFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { hasSharedData, SHARED_DATA } from "../../../test/helpers/sharedData.ts";
import { captureOptics, exifOptics } from "./exifOptics.ts";

const PIXEL = join(SHARED_DATA, "focal-real", "pixel6pro-desk", "image_1_0.35.jpg");

describe("exifOptics", () => {
  it("gives nothing for a JPEG without EXIF, and the capture's camera wins when complete", async () => {
    const bare = await sharp({
      create: { width: 8, height: 8, channels: 3, background: "#808080" },
    })
      .jpeg()
      .toBuffer();
    expect(await exifOptics(bare, 8, 8)).toEqual({});
    const camera = { fNumber: 2, focalLengthMm: 25, sensorWidthMm: 12 };
    const got = await captureOptics(camera, async () => bare, 640, 480);
    expect(got).toEqual({ optics: { lens: camera, imageWidthPx: 640 }, source: "capture" });
    expect(await captureOptics(undefined, async () => bare, 640, 480)).toBeUndefined();
  });

  it.skipIf(!hasSharedData("focal-real/pixel6pro-desk"))(
    "reads a real phone's f-number and focal length, completing a capture that gives the sensor",
    async () => {
      const bytes = await readFile(PIXEL);
      // The Pixel 6 Pro writes FNumber and FocalLength but no 35 mm equivalent.
      expect(await exifOptics(bytes, 4080, 3072)).toEqual({ fNumber: 1.85, focalLengthMm: 6.81 });
      expect(await captureOptics(undefined, async () => bytes, 4080, 3072)).toBeUndefined();
      const got = await captureOptics({ sensorWidthMm: 9.4 }, async () => bytes, 2062, 1552);
      expect(got?.source).toBe("exif");
      expect(got?.optics.lens).toEqual({ fNumber: 1.85, focalLengthMm: 6.81, sensorWidthMm: 9.4 });
    },
  );
});
