import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { decode } from "fast-png";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../scripts/localStack.ts";
import {
  launchChromium,
  SKIP_BROWSER,
  SKIP_BROWSER_REASON,
  waitForPageState,
  watchPage,
} from "./helpers/browser.ts";
import { BUNDLED_SAMPLE, ROOT } from "./helpers/sharedData.ts";

// The edge worker's preview page (GET /) in headless Chromium against the real local stack:
// wrangler dev + the GPU service on CPU. The page uploads the bundled sample through the public
// API, draws the depth, and its hover readout must show the very float32 the API serves.
let stack: LocalStack;
let browser: Browser;

interface HybridDepthWindow {
  hybridDepth?: {
    captureId: string;
    width: number;
    height: number;
    depthAt(x: number, y: number): number;
    result: Record<string, unknown>;
  };
}

/** The part of a canvas the pixel check reads (no "dom" lib on the Node side). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: "2d"): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  } | null;
}

/** Why the browser could not start: each test fails with it (a missing browser is no skip). */
let launchError: unknown;

beforeAll(async () => {
  if (SKIP_BROWSER) return;
  try {
    browser = await launchChromium();
  } catch (e) {
    launchError = e;
    return; // no stack either: nothing would drive it
  }
  stack = await startLocalStack();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Valid (non-zero) range of the sample's ground-truth depth, metres. */
async function groundTruthRange(): Promise<{ min: number; max: number }> {
  const png = decode(await readFile(join(BUNDLED_SAMPLE, "gt_depth.png")));
  expect(png.depth).toBe(16);
  let min = Infinity;
  let max = 0;
  for (const v of png.data) {
    if (v === 0) continue;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { min: min / 1000, max: max / 1000 };
}

async function openPage(): Promise<{
  page: Page;
  problems: Awaited<ReturnType<typeof watchPage>>;
}> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems = await watchPage(page);
  const res = await page.goto(`${stack.edge.url}/`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()["content-security-policy"]).toContain("default-src 'none'");
  return { page, problems };
}

describe("preview page in headless Chromium", () => {
  it("uploads the bundled sample folder, draws the depth and reads out the API's float32 under the cursor", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    if (launchError) throw launchError;
    const { page, problems } = await openPage();
    await page.fill("#apiKey", stack.apiKey);
    // The whole folder, as a user would pick it: gt_depth.png and NOTICE.md must be left out.
    await page.setInputFiles("#folder", BUNDLED_SAMPLE);
    const rows = page.locator("#frames tbody tr");
    await expect.poll(() => rows.count()).toBe(5);
    expect(await rows.locator("td:first-child").allTextContents()).toEqual([
      "f00.jpg",
      "f01.jpg",
      "f02.jpg",
      "f03.jpg",
      "f04.jpg",
    ]);
    // Focus distances came from capture.json.
    expect(await page.inputValue("#frames tbody tr:first-child input")).toBe("0.9746");
    expect(await page.inputValue("#unit")).toBe("m");
    expect(await page.isEnabled("#upload")).toBe(true);

    await page.click("#upload");
    const final = await waitForPageState(page, ["done", "error", "failed"], 120_000);
    const error = await page.textContent("#error");
    expect(final, `#error: ${error}`).toBe("done");
    expect(await page.isHidden("#error")).toBe(true);

    const hd = await page.evaluate(() => {
      const h = (globalThis as unknown as HybridDepthWindow).hybridDepth!;
      return { captureId: h.captureId, width: h.width, height: h.height, stage: h.result.stage };
    });
    expect(hd).toMatchObject({ width: 640, height: 480, stage: "full" });
    expect(await page.textContent("#status")).toContain(hd.captureId);
    expect(await page.textContent("#summary")).toContain("640×480");
    const legend = (await page.textContent("#legend"))!;
    const span =
      /^red (\d+\.\d\d) m \(near\) … blue (\d+\.\d\d) m \(far\), 2nd–98th percentile$/.exec(legend);
    expect(span, legend).not.toBeNull();

    // The depth the API serves for this capture, fetched outside the browser.
    const auth = { authorization: `Bearer ${stack.apiKey}` };
    const f32Res = await fetch(`${stack.edge.url}/v1/captures/${hd.captureId}/depth?format=f32`, {
      headers: auth,
    });
    expect(f32Res.status).toBe(200);
    const raw = Buffer.from(await f32Res.arrayBuffer());
    expect(raw.byteLength).toBe(hd.width * hd.height * 4);
    const apiDepth = (x: number, y: number) => raw.readFloatLE((y * hd.width + x) * 4);
    const gt = await groundTruthRange();
    // The colour scale spans the scene (ground truth 0.96–2.70 m), not a few outlier pixels.
    const [near, far] = [Number(span![1]), Number(span![2])];
    expect(near).toBeGreaterThan(gt.min * 0.7);
    expect(far).toBeLessThan(gt.max * 1.3);
    expect(far / near).toBeGreaterThan(1.5);
    // …so the drawn map has many colours, every pixel opaque (the sample has depth everywhere).
    const drawn = await page.$eval("#depth", (el) => {
      const c = el as unknown as CanvasLike;
      const px = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set<number>();
      let transparent = 0;
      for (let i = 0; i < px.length; i += 4) {
        colours.add((px[i]! << 16) | (px[i + 1]! << 8) | px[i + 2]!);
        if (px[i + 3] !== 255) transparent++;
      }
      return { colours: colours.size, transparent };
    });
    expect(drawn.transparent).toBe(0);
    expect(drawn.colours).toBeGreaterThan(100);

    // The canvas is scaled to the page: a cursor at a fraction of its box is that fraction of the map.
    const canvas = page.locator("#depth");
    const box = (await canvas.boundingBox())!;
    expect(box.width).toBeGreaterThan(300);
    expect(box.height / box.width).toBeCloseTo(hd.height / hd.width, 2);
    const fractions = [
      [0.5, 0.5],
      [0.2, 0.3],
      [0.8, 0.25],
      [0.35, 0.8],
      [0.9, 0.9],
    ] as const;
    for (const [fx, fy] of fractions) {
      // hover() scrolls the canvas into view first: a pointer outside the viewport reads "–".
      await canvas.hover({ position: { x: fx * box.width, y: fy * box.height } });
      const text = (await page.textContent("#readout"))!.trim();
      const m = /^(\d+), (\d+): (\d+\.\d{3}) m$/.exec(text);
      expect(m, `readout at (${fx}, ${fy}) is "${text}"`).not.toBeNull();
      const [x, y, z] = [Number(m![1]), Number(m![2]), m![3]!];
      expect(Math.abs(x - fx * hd.width)).toBeLessThanOrEqual(2);
      expect(Math.abs(y - fy * hd.height)).toBeLessThanOrEqual(2);
      const inPage = await page.evaluate(
        ([px, py]) => (globalThis as unknown as HybridDepthWindow).hybridDepth!.depthAt(px, py),
        [x, y] as const,
      );
      expect(inPage.toFixed(3)).toBe(z);
      expect(apiDepth(x, y).toFixed(3)).toBe(z);
      // Plausible for this scene: its ground truth spans gt.min … gt.max metres.
      expect(Number(z)).toBeGreaterThan(gt.min * 0.5);
      expect(Number(z)).toBeLessThan(gt.max * 1.5);
    }
    // For a look by eye (out/ is git-ignored): the readout shows the last hovered pixel.
    await mkdir(join(ROOT, "out"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "out", "preview-page.png"), fullPage: true });
    await page.hover("h1");
    await expect.poll(() => page.textContent("#readout")).toBe("–");

    // The server's preview PNG came through as a blob: URL and decoded.
    const preview = await page.$eval("#preview", (img) => {
      const i = img as unknown as { src: string; complete: boolean; naturalWidth: number };
      return { src: i.src, complete: i.complete, naturalWidth: i.naturalWidth };
    });
    expect(preview.src).toMatch(/^blob:/);
    expect(preview.complete).toBe(true);
    expect(preview.naturalWidth).toBeGreaterThan(0);

    expect(await problems.csp()).toEqual([]);
    expect(problems.all()).toEqual([]);
    await page.close();
  });

  it("a wrong API key shows the API's unauthorized error", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    if (launchError) throw launchError;
    const { page, problems } = await openPage();
    await page.fill("#apiKey", "not-the-key");
    await page.setInputFiles(
      "#files",
      ["capture.json", "f00.jpg", "f01.jpg", "f02.jpg", "f03.jpg", "f04.jpg"].map((f) =>
        join(BUNDLED_SAMPLE, f),
      ),
    );
    await page.click("#upload");
    expect(await waitForPageState(page, ["done", "error", "failed"], 30_000)).toBe("error");
    expect(await page.isVisible("#error")).toBe(true);
    expect(await page.textContent("#error")).toMatch(/^unauthorized: /);
    expect(await page.isHidden("#result")).toBe(true);
    expect(await page.isEnabled("#upload")).toBe(true);
    // The 401 itself is the only thing the browser may complain about.
    expect(await problems.csp()).toEqual([]);
    expect(
      problems.all().filter((p) => !/status of 401/.test(p)),
      problems.all().join("\n"),
    ).toEqual([]);
    await page.close();
  });
});
