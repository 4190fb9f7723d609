import { describe, expect, it } from "vitest";
import { SparePlanes } from "./sparePlanes.ts";

describe("SparePlanes", () => {
  it("hands a plane given back to the next take of its kind and length, and no other", () => {
    const spare = new SparePlanes();
    const shared = spare.take(16, true);
    const plain = spare.take(16, false);
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(plain.buffer).toBeInstanceOf(ArrayBuffer);
    spare.giveBack(shared, plain);
    expect(spare.take(8, true)).not.toBe(shared);
    expect(spare.take(16, true)).toBe(shared);
    expect(spare.take(16, false)).toBe(plain);
    expect(spare.take(16, false)).not.toBe(plain); // each is handed out once
    spare.clear();
  });

  it("keeps a frame's samples apart from floats of the same length", () => {
    const spare = new SparePlanes();
    const bytes = spare.takeOf(Uint8Array, 64, true);
    const wide = spare.takeOf(Uint16Array, 64, true);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(wide.buffer).toBeInstanceOf(SharedArrayBuffer);
    spare.giveBack(bytes, wide);
    expect(spare.take(64, true)).toBeInstanceOf(Float32Array); // a fresh one
    expect(spare.takeOf(Uint16Array, 64, true)).toBe(wide);
    expect(spare.takeOf(Uint8Array, 64, true)).toBe(bytes);
    spare.clear();
  });

  it("keeps no views, no duplicates and a bounded number per size", () => {
    const spare = new SparePlanes();
    const whole = new Float32Array(32);
    spare.giveBack(whole.subarray(0, 16), whole.subarray(16), whole, whole);
    expect(spare.heldBytes).toBe(whole.byteLength);
    spare.giveBack(new Float32Array(32), new Float32Array(32));
    expect(spare.heldBytes).toBe(2 * whole.byteLength);
    spare.clear();
  });

  it("keeps the newest within its byte budget: other sizes do not pile up", () => {
    const spare = new SparePlanes(1000, 1024);
    const old = new Float32Array(128); // 512 bytes
    const mid = new Float32Array(64);
    const last = new Float32Array(96);
    spare.giveBack(old, mid, last); // 512 + 256 + 384 > 1024: the oldest goes
    expect(spare.heldBytes).toBe(640);
    expect(spare.take(128, false)).not.toBe(old);
    expect(spare.take(64, false)).toBe(mid);
    spare.giveBack(new Float32Array(512)); // over the budget by itself: not kept
    expect(spare.heldBytes).toBe(384);
    spare.clear();
  });

  it("lets go of everything once idle", async () => {
    const spare = new SparePlanes(20);
    spare.giveBack(new Float32Array(64));
    expect(spare.heldBytes).toBe(256);
    await new Promise((r) => setTimeout(r, 60));
    expect(spare.heldBytes).toBe(0);
  });
});
