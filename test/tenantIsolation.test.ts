import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CaptureMetadata, HybridDepthClient } from "#shared/client/index.ts";
import { loadCaptureForUpload } from "../scripts/captureUpload.ts";
import { type LocalStack, startLocalStack } from "../scripts/localStack.ts";
import { BUNDLED_SAMPLE } from "./helpers/sharedData.ts";

// Two tenants against the real worker (wrangler dev) and GPU service on loopback: the dev API
// key (A) and a second key accepted by its hash (B).
let stack: LocalStack;
let meta: CaptureMetadata;
let frames: Buffer[];
let keyB: string;
let a: HybridDepthClient;
let b: HybridDepthClient;

const sha256 = (x: Uint8Array | string) => createHash("sha256").update(x).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  ({ meta, frames } = await loadCaptureForUpload(BUNDLED_SAMPLE));
  keyB = randomBytes(24).toString("hex");
  stack = await startLocalStack({
    edgeVars: { API_KEY_HASHES: sha256(keyB), RETRY_BASE_SECONDS: "1", RETRY_MAX_SECONDS: "2" },
  });
  a = new HybridDepthClient({ baseUrl: stack.edge.url, apiKey: stack.apiKey });
  b = new HybridDepthClient({ baseUrl: stack.edge.url, apiKey: keyB });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

/** A raw call to the worker as tenant `key`. */
function call(key: string, path: string, init: RequestInit = {}) {
  return fetch(`${stack.edge.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) },
  });
}

/** Every state a capture shows until it is done or failed (polled every 50 ms). */
async function statesUntilFinished(key: string, id: string, ms = 60_000): Promise<string[]> {
  const seen: string[] = [];
  const until = Date.now() + ms;
  for (;;) {
    const s = (await (await call(key, `/v1/captures/${id}`)).json()) as { state: string };
    if (seen.at(-1) !== s.state) seen.push(s.state);
    if (s.state === "done" || s.state === "failed" || Date.now() > until) return seen;
    await sleep(50);
  }
}

describe("two tenants on the local stack", () => {
  it("a cache hit is per tenant, and one tenant's DELETE leaves the other's result served", async () => {
    const first = await a.fuse(meta, frames, { pollIntervalMs: 100 });
    expect(first.finalize.cacheHit).toBe(false);
    const theirs = await b.fuse(meta, frames, { pollIntervalMs: 100 });
    // The same frames: B's own job, and nothing that says A processed them.
    expect(theirs.finalize.cacheHit).toBe(false);
    expect(theirs.status.attempts).toBeGreaterThan(0);
    expect(sha256(new Uint8Array(theirs.depth.data.buffer))).toBe(
      sha256(new Uint8Array(first.depth.data.buffer)),
    );
    // A's repeat is A's cache hit.
    const again = await a.fuse(meta, frames, { pollIntervalMs: 100 });
    expect(again.finalize.cacheHit).toBe(true);
    await first.capture.delete();
    await again.capture.delete();
    const still = await call(keyB, `/v1/captures/${theirs.capture.id}/depth?format=f32`);
    expect(still.status).toBe(200);
    expect(sha256(new Uint8Array(await still.arrayBuffer()))).toBe(
      sha256(new Uint8Array(theirs.depth.data.buffer)),
    );
  });

  it("eight simultaneous finalizes make one GPU job, and the capture never shows failed", async () => {
    const changed = structuredClone(meta);
    changed.frames[0]!.focusDistance += 2e-3; // a new address: not a cache hit
    const capture = await a.createCapture(changed);
    for (let i = 0; i < frames.length; i++) await capture.uploadFrame(i, frames[i]!);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(stack.apiKey, `/v1/captures/${capture.id}/finalize`, { method: "POST" }),
      ),
    );
    expect(answers.map((r) => r.status).filter((s) => s === 202)).toHaveLength(1);
    const states = await statesUntilFinished(stack.apiKey, capture.id);
    expect(states).not.toContain("failed");
    expect(states.at(-1)).toBe("done");
    const status = await capture.status();
    expect(status.attempts).toBe(1);
  });

  it("a job of a deleted capture never fuses or completes the capture recreated under its id", async () => {
    const idempotencyKey = `recycle-${randomBytes(8).toString("hex")}`;
    const changed = structuredClone(meta);
    changed.frames[0]!.focusDistance += 4e-3;
    const first = await a.createCapture(changed, { idempotencyKey });
    for (let i = 0; i < frames.length; i++) await first.uploadFrame(i, frames[i]!);
    const fin = await first.finalize();
    expect(fin.cacheHit).toBe(false);
    await first.delete();
    // The same id again (same tenant, same key), with the frames in another order.
    const swapped = structuredClone(changed);
    const order = frames.map((_, i) => frames.length - 1 - i);
    swapped.frames = order.map((j, i) => ({
      ...changed.frames[j]!,
      focusDistance: changed.frames[i]!.focusDistance,
    }));
    const again = await a.createCapture(swapped, { idempotencyKey });
    expect(again.id).toBe(first.id);
    for (let i = 0; i < order.length; i++) await again.uploadFrame(i, frames[order[i]!]!);
    // Long enough for the old job to have run to its end.
    await sleep(8000);
    expect((await again.status()).state).toBe("uploading");
    // And nothing was stored under the old address: the honest frames are no cache hit.
    const honest = await a.fuse(changed, frames, { pollIntervalMs: 100 });
    expect(honest.finalize.address).toBe(fin.address);
    expect(honest.finalize.cacheHit).toBe(false);
  });
});
