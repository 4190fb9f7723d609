import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planFocusSweep } from "#shared/client/index.ts";
import { linearToSrgb, mapInPlace, srgbToLinear } from "#shared/image/srgb.ts";
import { depthMetrics } from "#shared/metrics/depthMetrics.ts";
import { fillDepthHoles, renderDefocus } from "#shared/synth/defocusRenderer.ts";
import { decodeGray16, decodeRgb } from "../gpu-service/src/io/decodeImage.ts";
import { encodeRgb } from "../gpu-service/src/io/encodeImage.ts";
import { PHONE_LENS } from "../gpu-service/src/synth/synthesizeCapture.ts";
import { type LocalStack, startLocalStack } from "../scripts/localStack.ts";
import {
  launchChromium,
  pageState,
  SKIP_BROWSER,
  SKIP_BROWSER_REASON,
  waitForPageState,
  watchPage,
} from "./helpers/browser.ts";
import { ROOT, SHARED_DATA } from "./helpers/sharedData.ts";

// The capture page (GET /capture) in headless Chromium against the real local stack. Chrome's
// fake camera exercises the real Image Capture calls and its failure modes; a lens simulator
// (thin-lens renders of an RGB-D scene, with a settle delay) drives a whole capture.
let stack: LocalStack;
const browsers: Browser[] = [];
const SHIMS = readFile(join(ROOT, "test/helpers/cameraShims.js"), "utf8");
/** Phone size (a Pixel 7's CSS viewport). */
const PHONE = { width: 412, height: 915 };
const FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];

beforeAll(async () => {
  if (SKIP_BROWSER) return;
  stack = await startLocalStack();
}, 180_000);

afterAll(async () => {
  for (const b of browsers) await b.close();
  await stack?.stop();
});

async function openPage(
  args: readonly string[],
  shims: { name: string; arg?: unknown }[] = [],
  expose?: (page: Page) => Promise<unknown>,
) {
  const browser = await launchChromium(args);
  browsers.push(browser);
  const page = await browser.newPage({ viewport: PHONE });
  const problems = await watchPage(page);
  const src = await SHIMS;
  for (const s of shims)
    await page.addInitScript({ content: `${src}\n${s.name}(${JSON.stringify(s.arg ?? {})});` });
  await expose?.(page);
  const res = await page.goto(`${stack.edge.url}/capture`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()["content-security-policy"]).toContain("default-src 'none'");
  return { page, problems };
}

const apiKeyInput = (page: Page) => page.getByLabel("API key");
const captureButton = (page: Page) => page.getByRole("button", { name: /Capture/ });
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ROOT, "out", `capture-${name}.png`), fullPage: true });

async function captureUntilEnd(page: Page, key: string, timeoutMs: number) {
  await apiKeyInput(page).fill(key);
  await captureButton(page).click();
  return waitForPageState(page, ["done", "error"], timeoutMs);
}

describe("capture page, refusals", () => {
  it("refuses Chrome's fake camera (focus 10–100 is no metric range) and offers file upload", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    const { page, problems } = await openPage(FAKE_CAMERA);
    expect(await captureUntilEnd(page, stack.apiKey, 30_000)).toBe("error");
    expect(await page.textContent("#error")).toBe(
      "This camera cannot be used for depth: its focus range 10–100 is not a plausible range in metres (an uncalibrated or non-phone lens).",
    );
    expect(await page.isVisible("#fallback a[href='/']")).toBe(true);
    await shot(page, "fake-camera-refused");
    expect(await problems.csp()).toEqual([]);
    expect(problems.all()).toEqual([]);
  });

  it("says the camera has no manual focus when its photo state fails (GetPhotoStateFails)", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    const { page, problems } = await openPage([
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream=config=GetPhotoStateFails",
    ]);
    expect(await captureUntilEnd(page, stack.apiKey, 30_000)).toBe("error");
    expect(await page.textContent("#error")).toMatch(
      /^This camera \(fake_device_0\) offers no manual focus: /,
    );
    expect(problems.all()).toEqual([]);
  });

  it("names the refused focus request when the camera cannot set options (SetPhotoOptionsFails)", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    const { page, problems } = await openPage(
      [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream=config=SetPhotoOptionsFails",
      ],
      [{ name: "metresShim" }],
    );
    expect(await captureUntilEnd(page, stack.apiKey, 60_000)).toBe("error");
    expect(await page.textContent("#error")).toMatch(
      /^The camera refused focus distance 0\.\d{3} m \(UnknownError: setPhotoOptions failed\)\.$/,
    );
    expect(problems.all()).toEqual([]);
  });

  it("falls back to video frames when takePhoto fails (TakePhotoFails), then reports the API's answer", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    const { page, problems } = await openPage(
      [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream=config=TakePhotoFails",
      ],
      [{ name: "metresShim" }],
    );
    // A working range skips the preview sweep; the shim's lens is 0.1–1 m in 5 cm steps.
    await page.fill("#near", "0.3");
    await page.fill("#far", "0.9");
    const plan = planFocusSweep({
      capability: { min: 0.1, max: 1, step: 0.05 },
      working: { near: 0.3, far: 0.9 },
      minFrames: 5, // the page's MIN_SWEEP_FRAMES
    });
    expect(await captureUntilEnd(page, "not-the-key", 90_000)).toBe("error");
    const rows = await page.locator("#frameList li").allTextContents();
    expect(rows).toHaveLength(plan.distances.length);
    expect(rows[0]).toMatch(/^frame 1 · 0\.300 m · grabFrame/);
    for (const r of rows) expect(r).toMatch(/grabFrame/);
    // The sweep completed on grabFrame; the upload then met the wrong key.
    expect(await page.textContent("#error")).toMatch(/^unauthorized: /);
    expect(await page.textContent("#bytes")).toMatch(
      new RegExp(`^${plan.distances.length} frames · \\d+ KiB uploaded`),
    );
    expect(problems.all().filter((p) => !/status of 401/.test(p))).toEqual([]);
  });

  it("says so when the camera permission is refused", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    const { page } = await openPage([
      "--use-fake-device-for-media-stream",
      "--deny-permission-prompts",
    ]);
    expect(await captureUntilEnd(page, stack.apiKey, 30_000)).toBe("error");
    expect(await page.textContent("#error")).toBe(
      "Camera access was refused: allow the camera for this site to capture.",
    );
    expect(await page.isVisible("#fallback")).toBe(true);
    await shot(page, "permission-denied");
  });

  it("tells a browser without Image Capture (Safari, Firefox) why, on arrival", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    const { page, problems } = await openPage(FAKE_CAMERA, [{ name: "noImageCapture" }]);
    expect(await pageState(page)).toBe("unsupported");
    expect(await page.textContent("#error")).toMatch(/^This browser has no manual focus control/);
    expect(await page.isVisible("#fallback")).toBe(true);
    await shot(page, "unsupported");
    expect(await captureUntilEnd(page, stack.apiKey, 10_000)).toBe("error");
    expect(problems.all()).toEqual([]);
  });
});

/** What the lens simulator records in the page (test/helpers/cameraShims.js). */
interface LensLog {
  requests: { d: number; t: number }[];
  shots: { requested: number; lens: number; t: number }[];
  rejected: number;
}

interface HybridDepthWindow {
  __lens: LensLog;
  hybridDepth?: { captureId: string; width: number; height: number };
}

/** An RGB-D scene rendered by our thin-lens model at any focus distance, as JPEG, cached. */
async function sceneRenderer(dir: string) {
  const rgb = await decodeRgb(await readFile(join(dir, "rgb.jpg")), "rgb.jpg");
  const raw = await decodeGray16(await readFile(join(dir, "depth_mm.png")), "depth_mm.png");
  const gt = Float32Array.from(raw.data, (v) => v / 1000);
  const depth = fillDepthHoles({ width: raw.width, height: raw.height, data: gt });
  const linear = { ...rgb, data: mapInPlace(Float32Array.from(rgb.data), srgbToLinear) };
  const cache = new Map<string, Promise<string>>();
  const render = (d: number): Promise<string> => {
    const key = d.toFixed(4);
    let hit = cache.get(key);
    if (!hit) {
      const frame = renderDefocus(linear, depth, PHONE_LENS, d);
      mapInPlace(frame.data, linearToSrgb);
      hit = encodeRgb(frame, "jpeg", 92).then((b) => Buffer.from(b).toString("base64"));
      cache.set(key, hit);
    }
    return hit;
  };
  return { width: rgb.width, height: rgb.height, gt, render };
}

describe("capture page with a simulated lens, end to end", () => {
  it("sweeps, waits for the lens, uploads through the SDK and gets depth that matches the scene", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    const scene = await sceneRenderer(join(SHARED_DATA, "rgbd", "redwood-00000"));
    // A phone-like lens: closest focus 0.25 m, hyperfocal 4 m, 1 mm steps.
    const focus = { min: 0.25, max: 4, step: 0.001 };
    // The page's preview sweep is planned by the same SDK function: render those frames ahead,
    // so the viewfinder shows each new focus as soon as the lens gets there.
    const preview = planFocusSweep({ capability: focus, minFrames: 10, maxFrames: 10 }); // PREVIEW_FRAMES
    await Promise.all([focus.max, ...preview.distances].map((d) => scene.render(d)));
    const settleMs = 350;
    const { page, problems } = await openPage(
      [],
      [
        {
          name: "lensSimulator",
          arg: { settleMs, focus, width: scene.width, height: scene.height },
        },
      ],
      (p) => p.exposeFunction("__renderFocus", (d: number) => scene.render(d)),
    );
    await page.waitForTimeout(200);
    await shot(page, "idle");
    await apiKeyInput(page).fill(stack.apiKey);
    await captureButton(page).click();
    await waitForPageState(page, ["sweeping", "error"], 60_000);
    await shot(page, "sweeping");
    const final = await waitForPageState(page, ["done", "error"], 240_000);
    expect(final, (await page.textContent("#error")) ?? "").toBe("done");
    await shot(page, "done");

    const log = await page.evaluate(() => (globalThis as unknown as HybridDepthWindow).__lens);
    // Every request was clamped into range by the page (the simulator rejects any other).
    expect(log.rejected).toBe(0);
    for (const r of log.requests) {
      expect(r.d).toBeGreaterThanOrEqual(focus.min);
      expect(r.d).toBeLessThanOrEqual(focus.max);
    }
    // Every photo was taken after the lens reached the requested distance: a page that did not
    // wait would photograph the previous focus and label it with the new one.
    expect(log.shots.length).toBeGreaterThanOrEqual(5);
    for (const s of log.shots) expect(s.lens).toBe(s.requested);
    // The preview sweep narrowed the range: the scene (about 1–2.7 m) gets the frames.
    const distances = log.shots.map((s) => s.requested);
    expect(Math.min(...distances)).toBeGreaterThan(0.5);

    const captureId = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { body: { dataset: { captureId?: string } } } })
          .document.body.dataset.captureId,
    );
    const hd = await page.evaluate(() => (globalThis as unknown as HybridDepthWindow).hybridDepth!);
    expect(hd.captureId).toBe(captureId);
    const res = await fetch(`${stack.edge.url}/v1/captures/${captureId}/depth?format=f32`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    expect(res.status).toBe(200);
    const pred = new Float32Array(await res.arrayBuffer());
    expect(pred.length).toBe(scene.width * scene.height);
    const m = depthMetrics(pred, scene.gt);
    console.log(
      `capture page e2e (redwood-00000, ${log.shots.length} frames at ${distances.map((d) => d.toFixed(2)).join(", ")} m): ` +
        `AbsRel ${m.absRel.toFixed(3)}, δ1 ${m.d1.toFixed(3)}, coverage ${m.coverage.toFixed(3)}`,
    );
    expect(m.absRel).toBeLessThan(0.2);
    expect(m.d1).toBeGreaterThan(0.7);

    // The distance under the finger.
    const canvas = page.locator("#depth");
    const box = (await canvas.boundingBox())!;
    await canvas.hover({ position: { x: box.width / 2, y: box.height / 2 } });
    expect(await page.textContent("#readout")).toMatch(/^\d+\.\d\d m$/);
    expect(await page.getAttribute("#dlNpy", "href")).toMatch(/^blob:/);
    expect(await problems.csp()).toEqual([]);
    expect(problems.all()).toEqual([]);
  });
});
