import { describe, expect, it } from "vitest";
import type { Created } from "../../test/api.ts";
import {
  api,
  captureMeta,
  gpuCalls,
  jpegBytes,
  postJson,
  signJwt,
  testEnv,
} from "../../test/api.ts";
import { RESULT_FILES } from "../lib/r2Keys.ts";
import { resultCache, resultCacheKey } from "../lib/results.ts";

type Status = Record<string, unknown> & { state: string; address?: string; cacheHit?: boolean };

/** One principal's view of the API: the test API key, or a JWT subject. */
function as(auth?: string) {
  const opts = auth === undefined ? {} : { auth };
  return {
    async create(frames: Uint8Array[], files: string[], headers: Record<string, string> = {}) {
      const meta = captureMeta(frames.map((b, i) => ({ bytes: b.byteLength, file: files[i] })));
      const res = await postJson("/v1/captures", meta, { ...opts, headers });
      expect(res.status).toBeLessThan(300);
      const created = (await res.json()) as Created;
      for (const u of created.uploads) {
        const put = await api(u.url, {
          method: "PUT",
          body: frames[u.index],
          headers: u.headers,
          auth: null,
        });
        expect(put.status).toBe(201);
      }
      return created.id;
    },
    finalize: (id: string) => api(`/v1/captures/${id}/finalize`, { ...opts, method: "POST" }),
    status: async (id: string) => (await (await api(`/v1/captures/${id}`, opts)).json()) as Status,
    depth: (id: string, format = "f32") => api(`/v1/captures/${id}/depth?format=${format}`, opts),
    del: (id: string) => api(`/v1/captures/${id}`, { ...opts, method: "DELETE" }),
    async waitDone(id: string) {
      const until = Date.now() + 30_000;
      for (;;) {
        const s = await this.status(id);
        if (s.state === "done" || s.state === "failed" || Date.now() > until) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

const frameSet = (seed: number) => [jpegBytes(400, seed), jpegBytes(420, seed)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function r2Keys(prefix = ""): Promise<string[]> {
  const list = await testEnv.BUCKET.list({ prefix, limit: 1000 });
  return list.objects.map((o) => o.key);
}

describe("results you can trust", () => {
  it("eight simultaneous finalizes cause exactly one GPU job and one answer that moved it", async () => {
    const a = as();
    const id = await a.create(frameSet(501), ["race-0.jpg", "race-1.jpg"]);
    const answers = await Promise.all(Array.from({ length: 8 }, () => a.finalize(id)));
    const codes = answers.map((r) => r.status).sort();
    expect(codes.filter((c) => c === 202)).toHaveLength(1);
    expect(codes.filter((c) => c === 200)).toHaveLength(7);
    expect((await a.waitDone(id)).state).toBe("done");
    await sleep(1500); // any duplicate message would have run by now
    expect((await gpuCalls())[id]).toBe(1);
  });

  it("a job of a deleted capture never fuses (or completes) the capture recreated under its id", async () => {
    const a = as();
    const key = { "idempotency-key": `recycle-${crypto.randomUUID()}` };
    // fail3-: the GPU stub answers 503 three times, so the first job is still retrying after the delete.
    const files = ["fail3-0.jpg", "fail3-1.jpg"];
    const id = await a.create(frameSet(502), files, key);
    const first = (await (await a.finalize(id)).json()) as { address: string };
    expect((await a.del(id)).status).toBe(204);
    const again = await a.create(frameSet(503), files, key);
    expect(again).toBe(id);
    // The old job's retries run out; the new capture was never finalized, so it stays uploading.
    await sleep(5000);
    expect((await a.status(id)).state).toBe("uploading");
    // Nothing was stored under the old address: the old frames' capture is not a cache hit.
    const honest = await a.create(frameSet(502), files);
    const fin = (await (await a.finalize(honest)).json()) as Status;
    expect(fin.address).toBe(first.address);
    expect(fin.cacheHit).toBe(false);
  });

  it("cache hits are per tenant, and one tenant's DELETE leaves another's result served", async () => {
    const a = as();
    const b = as(await signJwt("tenant-b"));
    const files = ["tenant-0.jpg", "tenant-1.jpg"];
    const ida = await a.create(frameSet(504), files);
    expect((await a.finalize(ida)).status).toBe(202);
    expect((await a.waitDone(ida)).state).toBe("done");
    const idb = await b.create(frameSet(504), files);
    const fb = (await (await b.finalize(idb)).json()) as Status;
    // The same frames, another tenant: its own job, and no hint that A processed them.
    expect(fb.cacheHit).toBe(false);
    expect((await b.waitDone(idb)).state).toBe("done");
    expect((await gpuCalls())[idb]).toBe(1);
    expect((await a.depth(ida)).status).toBe(200);
    expect((await a.del(ida)).status).toBe(204);
    const still = await b.depth(idb);
    expect(still.status).toBe(200);
    expect((await still.arrayBuffer()).byteLength).toBe(32);
  });

  it("DELETE removes exactly the tenant's objects and purges the Cache API", async () => {
    const a = as();
    const files = ["purge-0.jpg", "purge-1.jpg"];
    const id = await a.create(frameSet(505), files);
    await a.finalize(id);
    expect((await a.waitDone(id)).state).toBe("done");
    // A second capture of the same tenant and frames shares the result (a cache hit).
    const twin = await a.create(frameSet(505), files);
    expect(((await (await a.finalize(twin)).json()) as Status).cacheHit).toBe(true);
    const prefix = (await testEnv.CAPTURES.get(testEnv.CAPTURES.idFromName(id)).get())!
      .resultPrefix!;
    for (const f of Object.keys(RESULT_FILES)) await (await a.depth(id, f)).arrayBuffer();
    await sleep(200); // the cache put runs after the answer
    expect(await resultCache().match(resultCacheKey(prefix, "f32"))).toBeDefined();
    // Deleting one keeps the shared result for the other.
    expect((await a.del(id)).status).toBe(204);
    expect((await a.depth(twin)).status).toBe(200);
    expect(await r2Keys(`captures/${id}/`)).toEqual([]);
    // Deleting the last one removes the result and its cached copies.
    expect((await a.del(twin)).status).toBe(204);
    expect(await r2Keys(prefix)).toEqual([]);
    for (const f of Object.keys(RESULT_FILES))
      expect(await resultCache().match(resultCacheKey(prefix, f))).toBeUndefined();
  });

  it("a job that finishes after its capture was deleted stores nothing", async () => {
    const a = as();
    // slow1500-: the GPU stub holds its answer, so the DELETE lands while the job is in flight.
    const id = await a.create(frameSet(506), ["slow1500-0.jpg", "slow1500-1.jpg"]);
    const { address } = (await (await a.finalize(id)).json()) as { address: string };
    const until = Date.now() + 10_000;
    while ((await a.status(id)).state !== "processing" && Date.now() < until) await sleep(50);
    expect((await a.del(id)).status).toBe(204);
    await sleep(2500); // the answer arrives and the consumer finishes
    expect((await gpuCalls())[id]).toBe(1);
    expect((await r2Keys()).filter((k) => k.includes(address) || k.includes(id))).toEqual([]);
  });

  it("a result is served only as what computed it: a new prior, or a fallback, is not a cache hit", async () => {
    const gpu = testEnv.GPU_SERVICE!;
    const a = as();
    const files = ["prior-0.jpg", "prior-1.jpg"];
    try {
      // No prior loaded: the GPU falls back to depth from focus, stored as this capture's own.
      await gpu.fetch("http://gpu/prior?model=", { method: "POST" });
      const fallback = await a.create(frameSet(507), files);
      await a.finalize(fallback);
      expect((await a.waitDone(fallback)).state).toBe("done");
      expect(((await (await a.depth(fallback, "json")).json()) as { stage: string }).stage).toBe(
        "dff",
      );
      // The prior is back: the same frames asking for `full` are fused again, not served the fallback.
      await gpu.fetch("http://gpu/prior?model=pydnet-pp", { method: "POST" });
      const full = await a.create(frameSet(507), files);
      expect(((await (await a.finalize(full)).json()) as Status).cacheHit).toBe(false);
      expect((await a.waitDone(full)).state).toBe("done");
      // A better prior deployed: the pydnet-pp result is not its answer.
      await gpu.fetch("http://gpu/prior?model=better-prior", { method: "POST" });
      const better = await a.create(frameSet(507), files);
      expect(((await (await a.finalize(better)).json()) as Status).cacheHit).toBe(false);
      expect((await a.waitDone(better)).state).toBe("done");
      const json = (await (await a.depth(better, "json")).json()) as { model: string };
      expect(json.model).toBe("better-prior");
      // And with that prior still running, the next one is a hit.
      const hit = await a.create(frameSet(507), files);
      expect(((await (await a.finalize(hit)).json()) as Status).cacheHit).toBe(true);
    } finally {
      await gpu.fetch("http://gpu/prior?model=pydnet-pp", { method: "POST" });
    }
  });
});
