import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  api,
  createCapture,
  gpuCalls,
  jpegBytes,
  testEnv,
  uploadAll,
  waitForState,
} from "../../test/api.ts";
import type { CaptureObject } from "../captureObject.ts";
import type { JobMessage } from "../env.ts";

const stubOf = (id: string) => testEnv.CAPTURES.get(testEnv.CAPTURES.idFromName(id));

/**
 * The capture object's queue, replaced by one that records and drops what is sent (a message
 * lost after a worker restart); `restore` gives it the real queue back.
 */
async function loseMessages(id: string) {
  const sent: JobMessage[] = [];
  const lossy = { send: async (m: JobMessage) => void sent.push(m) };
  const restore = await runInDurableObject(stubOf(id), (instance: CaptureObject) => {
    const self = instance as unknown as { env: typeof testEnv };
    const real = self.env;
    self.env = { ...real, JOBS: lossy as never };
    return () =>
      runInDurableObject(stubOf(id), (i: CaptureObject) => {
        (i as unknown as { env: typeof testEnv }).env = real;
      });
  });
  return { sent, restore };
}

async function uploaded(files: string[], seed: number) {
  const frames = files.map((_, i) => jpegBytes(400 + i * 10, seed));
  const created = await createCapture(frames, {}, files);
  await uploadAll(created, frames);
  return created.id;
}

const status = async (id: string) =>
  (await (await api(`/v1/captures/${id}`)).json()) as Record<string, unknown>;

describe("the capture deadline (one Durable Object alarm)", () => {
  it("re-sends a lost job, then fails with processing_deadline_exceeded after the budget", async () => {
    const id = await uploaded(["lost-0.jpg", "lost-1.jpg"], 31);
    const { sent } = await loseMessages(id);
    const fin = await api(`/v1/captures/${id}/finalize`, { method: "POST" });
    expect(fin.status).toBe(202);
    const { address } = (await fin.json()) as { address: string };
    expect(sent).toEqual([{ captureId: id, generation: 1, address }]);
    // A repeat finalize of a capture stuck in queued sends no second job.
    const again = await api(`/v1/captures/${id}/finalize`, { method: "POST" });
    expect(await again.json()).toEqual({ id, state: "queued" });
    expect(sent).toHaveLength(1);
    // The deadline re-drives the same job, three times by default.
    for (let i = 1; i <= 3; i++) {
      expect(await runDurableObjectAlarm(stubOf(id))).toBe(true);
      expect(sent).toHaveLength(1 + i);
      expect(sent[i]).toEqual({ captureId: id, generation: 1, address });
      expect(await status(id)).toMatchObject({ state: "queued" });
    }
    expect(await runDurableObjectAlarm(stubOf(id))).toBe(true);
    expect(sent).toHaveLength(4);
    expect(await status(id)).toMatchObject({
      state: "failed",
      error: {
        code: "processing_deadline_exceeded",
        message: "no progress within 900 s, 3 re-sends included; first cause: none recorded",
      },
    });
    expect((await gpuCalls())[id]).toBeUndefined();
  });

  it("a re-sent job runs: the capture finishes", async () => {
    const id = await uploaded(["redrive-0.jpg", "redrive-1.jpg"], 32);
    const { sent, restore } = await loseMessages(id);
    expect((await api(`/v1/captures/${id}/finalize`, { method: "POST" })).status).toBe(202);
    expect(sent).toHaveLength(1);
    await restore();
    expect(await runDurableObjectAlarm(stubOf(id))).toBe(true);
    const done = await waitForState(id, ["done", "failed"]);
    expect(done).toMatchObject({ state: "done" });
    expect((await gpuCalls())[id]).toBe(1);
  });

  it("keeps the first real cause a retry recorded", async () => {
    // The GPU stub answers 503 many times to this job: it stays processing, retrying.
    const id = await uploaded(["fail99-0.jpg", "fail99-1.jpg"], 33);
    expect((await api(`/v1/captures/${id}/finalize`, { method: "POST" })).status).toBe(202);
    for (let i = 0; i < 100; i++) {
      if ((await status(id)).error) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await loseMessages(id);
    for (let i = 0; i < 4; i++) await runDurableObjectAlarm(stubOf(id));
    expect(await status(id)).toMatchObject({
      state: "failed",
      error: {
        code: "processing_deadline_exceeded",
        message:
          "no progress within 900 s, 3 re-sends included; first cause: GPU service answered 503 overloaded: busy",
      },
    });
  });
});
