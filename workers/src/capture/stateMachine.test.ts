import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CaptureStateSchema } from "#shared/service/captureState.ts";
import { createCapture, jpegBytes, testEnv, uploadAll } from "../../test/api.ts";
import type { CaptureObject, CaptureRecord } from "../captureObject.ts";
import { contentAddress } from "../lib/contentAddress.ts";
import { canTransition, TRANSITIONS } from "./stateMachine.ts";

const STATES = CaptureStateSchema.options;

/** A finalized-looking capture whose stored state is `state` (set directly in its object). */
async function captureIn(state: CaptureRecord["state"], seed: number) {
  const frames = [jpegBytes(200, seed), jpegBytes(210, seed)];
  const created = await createCapture(frames, {}, ["sm-0.jpg", "sm-1.jpg"]);
  await uploadAll(created, frames);
  const stub = testEnv.CAPTURES.get(testEnv.CAPTURES.idFromName(created.id));
  const address = await runInDurableObject(stub, async (_o: CaptureObject, ctx) => {
    const r = (await ctx.storage.get<CaptureRecord>("record"))!;
    r.state = state;
    r.address = await contentAddress(r);
    await ctx.storage.put("record", r);
    return r.address;
  });
  return { stub, job: { generation: 1, address } };
}

describe("capture state machine", () => {
  it("every state is in the table and finished states are final", () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...STATES].sort());
    expect(TRANSITIONS.done).toEqual([]);
    expect(TRANSITIONS.failed).toEqual([]);
    expect(canTransition("uploading", "processing")).toBe(false);
    expect(canTransition("processing", "queued")).toBe(false);
  });

  // Every (from, to) pair, through the capture object a job would use.
  let seed = 100;
  for (const from of STATES)
    for (const to of STATES) {
      const legal = canTransition(from, to);
      it(`${from} → ${to} is ${legal ? "allowed" : "refused"}`, async () => {
        const { stub, job } = await captureIn(from, seed++);
        const moved = await stub.advance(job, to);
        expect(moved.ok).toBe(legal);
        if (!moved.ok) expect(moved.reason).toBe("illegal");
        expect((await stub.get())!.state).toBe(legal ? to : from);
      });
    }

  it("a job bound to another generation or address is refused even where the move is legal", async () => {
    const { stub, job } = await captureIn("queued", 300);
    expect(await stub.advance({ ...job, generation: 2 }, "processing")).toMatchObject({
      ok: false,
      reason: "stale",
    });
    expect(await stub.advance({ ...job, address: "0".repeat(64) }, "processing")).toMatchObject({
      ok: false,
      reason: "stale",
    });
    expect((await stub.get())!.state).toBe("queued");
  });
});
