import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fuseJobId } from "#shared/service/fuseJob.ts";
import {
  api,
  createCapture,
  gpuCalls,
  gpuJobIds,
  jpegBytes,
  testEnv,
  uploadAll,
  waitForState,
} from "../../test/api.ts";
import worker from "../index.ts";
import { retryDelaySeconds } from "./consumeJobs.ts";

async function finalized(files: string[], seed = 1) {
  const frames = files.map((_, i) => jpegBytes(500 + i * 10, seed));
  const created = await createCapture(frames, {}, files);
  await uploadAll(created, frames);
  const res = await api(`/v1/captures/${created.id}/finalize`, { method: "POST" });
  return { id: created.id, res, body: (await res.json()) as Record<string, unknown>, frames };
}

describe("queue consumer with the GPU service", () => {
  it("runs a finalized capture through the queue and the GPU service, then serves its depth", async () => {
    const { id, res, body } = await finalized(["a-0.jpg", "a-1.jpg"], 11);
    expect(res.status).toBe(202);
    expect(body).toMatchObject({ id, state: "queued", cacheHit: false });
    const done = await waitForState(id, ["done", "failed"]);
    expect(done).toMatchObject({ state: "done", timingsMs: { total: 12 } });
    expect((await gpuCalls())[id]).toBe(1);
    const depth = new Float32Array(
      await (await api(`/v1/captures/${id}/depth?format=f32`)).arrayBuffer(),
    );
    expect([...depth].map((d) => Math.round(d * 10) / 10)).toEqual([
      1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7,
    ]);
    // Finalize again: the same answer, no second job.
    const again = await api(`/v1/captures/${id}/finalize`, { method: "POST" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id, state: "done" });
    expect((await gpuCalls())[id]).toBe(1);
  });

  it("retries while the GPU service is overloaded and loses no job", async () => {
    const { id } = await finalized(["fail2-0.jpg", "fail2-1.jpg"], 12);
    const done = await waitForState(id, ["done", "failed"]);
    expect(done.state).toBe("done");
    expect((await gpuCalls())[id]).toBe(3);
    expect(done.attempts).toBe(3);
    expect(done.error).toBeUndefined();
    // Every redelivery is the same job to the GPU service: the capture, generation and address.
    const job = fuseJobId(id, 1, done.address as string);
    expect((await gpuJobIds())[id]).toEqual([job, job, job]);
  });

  it("a GPU call that does not answer in time is abandoned and retried", async () => {
    const { id } = await finalized(["hang-0.jpg", "hang-1.jpg"], 21);
    const done = await waitForState(id, ["done", "failed"], 6000);
    expect(done.state).toBe("done");
    expect((await gpuCalls())[id]).toBe(2);
  });

  it("marks the capture failed with the GPU service's reason when a frame is refused", async () => {
    const { id } = await finalized(["reject-0.jpg", "reject-1.jpg"], 13);
    const failed = await waitForState(id, ["done", "failed"]);
    expect(failed).toMatchObject({
      state: "failed",
      error: { code: "frame_unreadable", message: "frame 0 (reject-a.jpg): cannot decode" },
    });
    expect((await gpuCalls())[id]).toBe(1);
    const depth = await api(`/v1/captures/${id}/depth?format=f32`);
    expect(depth.status).toBe(409);
  });

  it("a depth that is not finite everywhere is never served as done", async () => {
    const { id } = await finalized(["inf-0.jpg", "inf-1.jpg"], 16);
    const failed = await waitForState(id, ["done", "failed"]);
    expect(failed).toMatchObject({
      state: "failed",
      error: {
        code: "depth_not_finite",
        message: "depth: 1 of 8 values are not finite (first at index 3, Infinity)",
      },
    });
    expect((await api(`/v1/captures/${id}/depth?format=f32`)).status).toBe(409);
  });

  it("a second capture with the same frames, metadata and options is a cache hit that never reaches the GPU service", async () => {
    const first = await finalized(["same-0.jpg", "same-1.jpg"], 14);
    expect((await waitForState(first.id, ["done", "failed"])).state).toBe("done");
    const second = await finalized(["same-0.jpg", "same-1.jpg"], 14);
    expect(second.res.status).toBe(200);
    expect(second.body).toMatchObject({
      state: "done",
      cacheHit: true,
      address: first.body.address,
    });
    expect((await gpuCalls())[second.id]).toBeUndefined();
    const a = await (await api(`/v1/captures/${first.id}/depth?format=f32`)).arrayBuffer();
    const b = await (await api(`/v1/captures/${second.id}/depth?format=f32`)).arrayBuffer();
    expect(new Uint8Array(b)).toEqual(new Uint8Array(a));
  });

  it("the dead-letter queue's consumer marks a job that exhausted its retries as failed", async () => {
    // The GPU stub answers 503 to this job many times: it is still being retried.
    const { id, body } = await finalized(["fail99-0.jpg", "fail99-1.jpg"], 15);
    const address = body.address as string;
    // Until the first delivery has recorded why it will retry.
    for (let i = 0; i < 100; i++) {
      const s = (await (await api(`/v1/captures/${id}`)).json()) as { error?: { code: string } };
      if (s.error?.code === "retrying") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const batch = createMessageBatch("hybriddepth-jobs-dev-dlq", [
      {
        id: "m1",
        timestamp: new Date(),
        attempts: 7,
        body: { captureId: id, generation: 1, address },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m1"]);
    const status = (await (await api(`/v1/captures/${id}`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      state: "failed",
      error: {
        code: "gpu_unavailable",
        message: "gave up after 7 attempts; first cause: GPU service answered 503 overloaded: busy",
      },
    });
    // A late dead letter for a capture already finished changes nothing.
    await worker.queue(batch, testEnv, createExecutionContext());
    expect(await (await api(`/v1/captures/${id}`)).json()).toEqual(status);
  });
});

describe("retryDelaySeconds", () => {
  it("doubles from the base up to the cap", () => {
    const env = { RETRY_BASE_SECONDS: "5", RETRY_MAX_SECONDS: "300" } as const;
    expect([1, 2, 3, 4, 7, 12].map((a) => retryDelaySeconds(a, env as never))).toEqual([
      5, 10, 20, 40, 300, 300,
    ]);
  });
});
