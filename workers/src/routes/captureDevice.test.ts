import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, captureMeta, createCapture, jpegBytes, postJson, testEnv } from "../../test/api.ts";
import type { CaptureObject, CaptureRecord } from "../captureObject.ts";
import { contentAddress } from "../lib/contentAddress.ts";

// The capture page's `device` description: validated, kept with the capture, shown in its
// status, and no part of the content address.
const DEVICE = {
  userAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 7) Chrome/131.0",
  cameraLabel: "camera2 0, facing back",
  focusDistance: { min: 0.1, max: 4, step: 0.01 },
  focusUnitsMayBeUncalibrated: true,
  orientation: "portrait-primary",
  via: ["takePhoto", "takePhoto"],
  notes: ["locked: exposure"],
};

const frames = () => [jpegBytes(300, 41), jpegBytes(310, 42)];

async function record(id: string): Promise<CaptureRecord> {
  const stub = testEnv.CAPTURES.get(testEnv.CAPTURES.idFromName(id));
  return runInDurableObject(
    stub,
    async (_o: CaptureObject, ctx) => (await ctx.storage.get<CaptureRecord>("record"))!,
  );
}

describe("capture metadata: device", () => {
  it("is kept with the capture and shown in its status, unknown fields dropped", async () => {
    const created = await createCapture(frames(), { device: { ...DEVICE, secret: "x" } });
    expect((await record(created.id)).meta.device).toEqual(DEVICE);
    const status = (await (await api(`/v1/captures/${created.id}`)).json()) as {
      device?: unknown;
    };
    expect(status.device).toEqual(DEVICE);
  });

  it("is bounded: an oversized or ill-typed description is a 400 that names the field", async () => {
    const meta = (device: unknown) =>
      captureMeta(
        frames().map((b) => ({ bytes: b.byteLength })),
        { device },
      );
    for (const [device, says] of [
      [{ userAgent: "x".repeat(513) }, "device.userAgent is longer than 512 characters"],
      [{ notes: Array(65).fill("n") }, "device.notes has at most 64 entries"],
      [{ focusDistance: { min: 0.1, max: "far" } }, "device.focusDistance.max must be a number"],
      [{ focusUnitsMayBeUncalibrated: "yes" }, "focusUnitsMayBeUncalibrated"],
    ] as const) {
      const res = await postJson("/v1/captures", meta(device));
      expect(res.status, JSON.stringify(device).slice(0, 80)).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("invalid_capture");
      expect(body.error.message).toContain(says);
    }
  });

  it("is no part of the content address: identical frames from two phones share a result", async () => {
    const a = await record((await createCapture(frames(), { device: DEVICE })).id);
    const b = await record(
      (await createCapture(frames(), { device: { ...DEVICE, cameraLabel: "another phone" } })).id,
    );
    const frameDigests = a.meta.frames.map((_, i) => ({ bytes: 1, sha256: `f${i}` }));
    const withFrames = (r: CaptureRecord) => ({ ...r, frames: frameDigests }) as CaptureRecord;
    expect(await contentAddress(withFrames(a))).toBe(await contentAddress(withFrames(b)));
    const moved = { ...a, meta: { ...a.meta, camera: { fNumber: 2 } } };
    expect(await contentAddress(withFrames(moved))).not.toBe(await contentAddress(withFrames(a)));
  });
});
