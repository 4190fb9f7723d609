import { describe, expect, it } from "vitest";
import {
  api,
  createCapture,
  jpegBytes,
  signedFrameGet,
  startOfRateWindow,
  uploadAll,
} from "../../test/api.ts";

type ErrorBody = { error: { code: string; message: string } };

// vitest.config.mts gives SIGNED_RATE_LIMIT 40 requests a minute per capture (300 deployed).
const LIMIT = 40;

describe("signed frame URLs are rate-limited per capture", () => {
  it("past the capture's budget a signed GET answers 429 rate_limited with Retry-After; other captures are unaffected", async () => {
    const frames = [jpegBytes(320, 61), jpegBytes(330, 61)];
    const a = await createCapture(frames);
    const b = await createCapture(frames);
    await startOfRateWindow(15_000);
    await uploadAll(a, frames); // 2 signed PUTs
    await uploadAll(b, frames);
    for (let i = 2; i < LIMIT; i++) {
      const res = await signedFrameGet(a.id, 0, 320);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const limited = await signedFrameGet(a.id, 0, 320);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(((await limited.json()) as ErrorBody).error.code).toBe("rate_limited");
    // A signed PUT of the same capture is counted too.
    const put = a.uploads[1]!;
    const res = await api(put.url, {
      method: "PUT",
      body: frames[1],
      headers: put.headers,
      auth: null,
    });
    expect(res.status).toBe(429);
    // Another capture has its own budget.
    const other = await signedFrameGet(b.id, 0, 320);
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });

  it("requests with a bad signature spend nothing of the capture's budget", async () => {
    const frames = [jpegBytes(340, 62), jpegBytes(350, 62)];
    const c = await createCapture(frames);
    await startOfRateWindow(15_000);
    await uploadAll(c, frames);
    for (let i = 0; i < LIMIT + 5; i++) {
      const res = await api(`/v1/frames/${c.id}/0?exp=9999999999&sig=${"0".repeat(64)}`, {
        auth: null,
      });
      expect(res.status).toBe(403);
    }
    const res = await signedFrameGet(c.id, 0, 340);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });
});
