import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page, Route } from "playwright-core";
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

/** A phone-like lens: closest focus 0.25 m, hyperfocal 4 m, 1 mm steps. */
const PHONE_FOCUS = { min: 0.25, max: 4, step: 0.001 };

/** The capture page on a simulated lens over the redwood-00000 scene. */
async function openLensPage(settleMs = 350) {
  const scene = await sceneRenderer(join(SHARED_DATA, "rgbd", "redwood-00000"));
  const focus = PHONE_FOCUS;
  // The page's preview sweep is planned by the same SDK function: render those frames ahead,
  // so the viewfinder shows each new focus as soon as the lens gets there.
  const preview = planFocusSweep({ capability: focus, minFrames: 10, maxFrames: 10 }); // PREVIEW_FRAMES
  await Promise.all([focus.max, ...preview.distances].map((d) => scene.render(d)));
  const opened = await openPage(
    [],
    [{ name: "lensSimulator", arg: { settleMs, focus, width: scene.width, height: scene.height } }],
    (p) => p.exposeFunction("__renderFocus", (d: number) => scene.render(d)),
  );
  return { ...opened, scene, focus };
}

describe("capture page with a simulated lens, end to end", () => {
  it("sweeps, waits for the lens, uploads through the SDK and gets depth that matches the scene", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    const { page, problems, scene, focus } = await openLensPage();
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
    // What the page recorded about the device is kept with the capture (DeviceSchema).
    const status = (await fetch(`${stack.edge.url}/v1/captures/${captureId}`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    }).then((r) => r.json())) as { device?: Record<string, unknown> };
    expect(status.device).toMatchObject({
      cameraLabel: "simulated thin lens",
      focusDistance: focus,
      focusUnitsMayBeUncalibrated: true,
      via: log.shots.map(() => "takePhoto"),
    });
    expect(status.device?.userAgent).toMatch(/Chrome/);
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

/** The page's capture id (`<body data-capture-id>`). */
const captureIdOf = (page: Page) =>
  page.evaluate(
    () =>
      (globalThis as unknown as { document: { body: { dataset: { captureId?: string } } } })
        .document.body.dataset.captureId,
  );

/**
 * The tus traffic of a page, with a connection that drops mid-frame: each frame's first PATCH
 * reaches the server cut to half its bytes (as a link that died mid-body leaves it: tus keeps
 * what arrived), and its next PATCH hangs until `release()`. Counts what reached the server.
 */
async function cutTusMidFrame(page: Page) {
  const t = {
    created: 0,
    bytesToServer: 0,
    hung: [] as Route[],
    /** HEADs (resumptions) and the offsets the server answered. */
    heads: [] as { offset: number; length: number }[],
    cut: true,
    cutOnce: new Set<string>(),
  };
  await page.route(/\/v1\/tus(\/|$)/, async (route) => {
    const req = route.request();
    const method = req.method();
    if (method === "POST") t.created++;
    if (method === "HEAD") {
      const res = await route.fetch();
      const h = res.headers();
      t.heads.push({ offset: Number(h["upload-offset"]), length: Number(h["upload-length"]) });
      return route.fulfill({ response: res });
    }
    if (method !== "PATCH") return route.continue();
    const body = req.postDataBuffer() ?? Buffer.alloc(0);
    if (!t.cut) {
      t.bytesToServer += body.length;
      return route.continue();
    }
    if (t.cutOnce.has(req.url())) return void t.hung.push(route);
    t.cutOnce.add(req.url());
    const half = body.subarray(0, Math.floor(body.length / 2));
    t.bytesToServer += half.length;
    return route.continue({ postData: half });
  });
  return t;
}

/** A capture whose every frame is half uploaded when its connection dies. */
async function interruptedUpload() {
  const { page, problems } = await openLensPage();
  // A working range skips the preview sweep (the e2e test covers it).
  await page.fill("#near", "1");
  await page.fill("#far", "2.7");
  const tus = await cutTusMidFrame(page);
  await apiKeyInput(page).fill(stack.apiKey);
  await captureButton(page).click();
  await waitForPageState(page, ["uploading", "error"], 120_000);
  const frames = await page.locator("#frameList li").count();
  expect(frames).toBeGreaterThanOrEqual(5);
  // Every frame half on the server, the rest of its bytes stuck on a dead connection.
  await expect.poll(() => tus.hung.length, { timeout: 60_000 }).toBe(frames);
  const id = await captureIdOf(page);
  expect(id).toMatch(/\S/);
  expect(tus.heads).toEqual([]);
  return { page, problems, tus, frames, id: id! };
}

describe("capture page, reload mid-upload", () => {
  it("keeps the frames in IndexedDB and resumes each tus upload from the server's offset", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    const { page, problems, tus, frames, id } = await interruptedUpload();
    await shot(page, "upload-interrupted");

    tus.cut = false;
    await page.reload();
    for (const r of tus.hung) await r.abort().catch(() => undefined);
    const final = await waitForPageState(page, ["done", "error"], 180_000);
    expect(final, (await page.textContent("#error")) ?? "").toBe("done");
    await shot(page, "resumed-done");
    expect(await captureIdOf(page)).toBe(id);

    // Resumed, not restarted: no frame's upload was made twice, each went on from half way,
    // and the server received each byte once.
    expect(tus.created).toBe(frames);
    expect(tus.heads).toHaveLength(frames);
    for (const h of tus.heads) {
      expect(h.offset).toBeGreaterThan(0);
      expect(h.offset).toBeLessThan(h.length);
    }
    const status = await fetch(`${stack.edge.url}/v1/captures/${id}`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    }).then((r) => r.json() as Promise<{ state: string; frames: { bytes?: number }[] }>);
    expect(status.state).toBe("done");
    const frameBytes = status.frames.reduce((s, f) => s + (f.bytes ?? 0), 0);
    expect(tus.bytesToServer).toBe(frameBytes);
    console.log(
      `reload mid-upload: ${frames} frames, ${frameBytes} bytes; ${tus.heads.length} uploads resumed at ` +
        `${tus.heads.map((h) => `${h.offset}/${h.length}`).join(", ")}; bytes sent ${tus.bytesToServer}`,
    );

    // Done means forgotten: another reload finds nothing to resume.
    await page.reload();
    await page.waitForTimeout(500);
    expect(await pageState(page)).toBe("idle");
    // The dropped connection is the test's doing; nothing else may go wrong.
    expect(problems.all().filter((p) => !/requestfailed: PATCH .*\/v1\/tus\//.test(p))).toEqual([]);
  });

  it("forgets a capture the server no longer has, in one sentence, and offers a new one", async (ctx) => {
    ctx.skip(SKIP_BROWSER, SKIP_BROWSER_REASON);
    const { page, tus, id } = await interruptedUpload();
    const res = await fetch(`${stack.edge.url}/v1/captures/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    expect(res.status).toBeLessThan(300);
    tus.cut = false;
    await page.reload();
    for (const r of tus.hung) await r.abort().catch(() => undefined);
    expect(await waitForPageState(page, ["done", "error"], 60_000)).toBe("error");
    expect(await page.textContent("#error")).toBe(
      "The unfinished capture is no longer on the server (deleted or expired), so its frames were discarded: press Capture to take a new one.",
    );
    expect(await page.locator("#frameList li").count()).toBe(0);
    await shot(page, "resume-gone");
    // Discarded: the next visit starts afresh.
    await page.reload();
    await page.waitForTimeout(500);
    expect(await pageState(page)).toBe("idle");
    expect(await page.isVisible("#error")).toBe(false);
  });
});
