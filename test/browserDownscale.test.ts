/**
 * The capture page's on-device downscaling, in a real browser, on a real phone's photos: the
 * SDK's `downscaleFrame` (the function the page calls on every frame before upload) runs in
 * headless Chromium on the five 12 MP JPEGs of the Pixel 6 Pro stack. It measures what a sweep
 * costs on the uplink before and after, and checks that the frames arrive at exactly the size
 * the server would resample to, close to what the server's own resampling gives.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import type { Browser } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_WORK_PIXELS, workSize } from "#shared/pipeline/workSize.ts";
import { launchChromium, SKIP_BROWSER, SKIP_BROWSER_REASON } from "./helpers/browser.ts";
import { hasSharedData, SHARED_DATA } from "./helpers/sharedData.ts";

const STACK = join(SHARED_DATA, "focal-real", "pixel6pro-desk");

interface Downscaled {
  width: number;
  height: number;
  scaled: boolean;
  base64: string;
}
interface DownscaleWindow {
  __downscale(base64: string): Promise<Downscaled>;
}

/** The SDK's browser downscaler, bundled for the page as the capture page's script is. */
async function downscaleBundle(): Promise<string> {
  const out = await build({
    stdin: {
      contents: `import { downscaleFrame } from "./shared/src/client/downscale.ts";
        globalThis.__downscale = async (b64) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const r = await downscaleFrame(new Blob([bytes], { type: "image/jpeg" }));
          const buf = new Uint8Array(await r.blob.arrayBuffer());
          let s = "";
          for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
          return { width: r.width, height: r.height, scaled: r.scaled, base64: btoa(s) };
        };`,
      resolveDir: join(import.meta.dirname, ".."),
      loader: "ts",
    },
    bundle: true,
    format: "iife",
    platform: "browser",
    write: false,
  });
  return out.outputFiles[0]!.text;
}

/** Peak signal-to-noise ratio of two RGB byte images of the same size, dB. */
function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255 * a.length) / se);
}

describe.skipIf(!hasSharedData("focal-real/pixel6pro-desk"))(
  "on-device downscaling in the browser, real 12 MP photos",
  () => {
    let browser: Browser | undefined;
    beforeAll(async () => {
      if (!SKIP_BROWSER) browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it("sends the work size, not the sensor's: a fraction of the bytes, close to the server's resampling", async (ctx) => {
      ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
      const page = await browser!.newPage();
      await page.addScriptTag({ content: await downscaleBundle() });
      const capture = JSON.parse(await readFile(join(STACK, "capture.json"), "utf8")) as {
        frames: { file: string }[];
      };
      let before = 0;
      let after = 0;
      const quality: number[] = [];
      for (const { file } of capture.frames) {
        const jpeg = await readFile(join(STACK, file));
        const meta = await sharp(jpeg).metadata();
        const want = workSize({ width: meta.width!, height: meta.height! }, MAX_WORK_PIXELS);
        const out = await page.evaluate(
          (b64) => (globalThis as unknown as DownscaleWindow).__downscale(b64),
          jpeg.toString("base64"),
        );
        const sent = Buffer.from(out.base64, "base64");
        expect(out.scaled).toBe(true);
        expect([out.width, out.height]).toEqual([want.width, want.height]);
        const sentMeta = await sharp(sent).metadata();
        expect([sentMeta.format, sentMeta.width, sentMeta.height]).toEqual([
          "jpeg",
          want.width,
          want.height,
        ]);
        // What the server would have made of the full frame (sharp's resampling at work size).
        const server = await sharp(jpeg)
          .resize(want.width, want.height)
          .removeAlpha()
          .raw()
          .toBuffer();
        const phone = await sharp(sent).removeAlpha().raw().toBuffer();
        quality.push(psnr(server, phone));
        before += jpeg.length;
        after += sent.length;
      }
      const mb = (b: number) => (b / 1e6).toFixed(2);
      console.log(
        `browser downscaling, ${capture.frames.length} × 12 MP (Pixel 6 Pro): ${mb(before)} MB as taken → ${mb(after)} MB sent (${(after / before).toFixed(2)}); PSNR against the server's resampling ${Math.min(...quality).toFixed(1)}–${Math.max(...quality).toFixed(1)} dB`,
      );
      expect(after / before).toBeLessThan(0.75);
      // Resampling filters differ (browser vs libvips) and the JPEG is re-encoded: close, not equal.
      expect(Math.min(...quality)).toBeGreaterThan(30);
    }, 120_000);
  },
);
