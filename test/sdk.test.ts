import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  backoffDelay,
  type CaptureMetadata,
  type CaptureState,
  type FuseProgress,
  HybridDepthApiError,
  HybridDepthClient,
  isApiError,
  NetworkError,
  parseRetryAfter,
  retryDecision,
} from "#shared/client/index.ts";
import { loadCaptureForUpload } from "../scripts/captureUpload.ts";
import { type LocalStack, startEdgeWorker, startLocalStack } from "../scripts/localStack.ts";
import { startDropProxy } from "./helpers/dropProxy.ts";
import { BUNDLED_SAMPLE } from "./helpers/sharedData.ts";

// The SDK against the real product on loopback (wrangler dev + the GPU service on CPU), and
// through a small HTTP proxy that refuses or cuts chosen requests, to see the retries.
let stack: LocalStack;
let sample: { meta: CaptureMetadata; frames: Buffer[] };

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const FAST_RETRY = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };
const client = (over: Partial<ConstructorParameters<typeof HybridDepthClient>[0]> = {}) =>
  new HybridDepthClient({
    baseUrl: stack.edge.url,
    apiKey: stack.apiKey,
    retry: FAST_RETRY,
    ...over,
  } as ConstructorParameters<typeof HybridDepthClient>[0]);

/** Fails the test instead of hanging when a promise does not settle in time. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
    }),
  ]);
}

beforeAll(async () => {
  [stack, sample] = await Promise.all([
    startLocalStack({ edgeVars: { RETRY_BASE_SECONDS: "1", RETRY_MAX_SECONDS: "2" } }),
    loadCaptureForUpload(BUNDLED_SAMPLE),
  ]);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe("retry policy (pure)", () => {
  it("backs off exponentially with equal jitter, capped", () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    // random() = 0 gives the fixed half, 1 the whole ceiling.
    expect([1, 2, 3, 4, 5, 6].map((r) => backoffDelay(r, policy, () => 0))).toEqual([
      50, 100, 200, 400, 500, 500,
    ]);
    expect([1, 2, 3, 4, 5, 6].map((r) => backoffDelay(r, policy, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, policy);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter(" 60 ", now)).toBe(60_000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now)).toBe(0);
    for (const bad of [undefined, null, "", "soon", "-1", "1.5"])
      expect(parseRetryAfter(bad, now)).toBeUndefined();
  });

  it("retries network errors, 408, 429 and 5xx only, with the server's Retry-After", () => {
    const api = (status: number, retryAfterMs?: number) =>
      new HybridDepthApiError(status, "internal", "x", retryAfterMs);
    expect(retryDecision(new NetworkError("down"))).toEqual({ retry: true });
    expect(retryDecision(api(503, 0))).toEqual({ retry: true, afterMs: 0 });
    expect(retryDecision(api(429, 60_000))).toEqual({ retry: true, afterMs: 60_000 });
    for (const s of [408, 500, 502, 504]) expect(retryDecision(api(s)).retry).toBe(true);
    for (const s of [400, 401, 403, 404, 409, 411, 413, 415, 422])
      expect(retryDecision(api(s)).retry).toBe(false);
    expect(retryDecision(new DOMException("stop", "AbortError")).retry).toBe(false);
    expect(retryDecision(new TypeError("bug")).retry).toBe(false);
  });
});

describe("SDK against the local stack", () => {
  let fusedId: string;
  let fusedDepthSha: string;

  it("fuses the bundled sample: progress through the states, f32 depth sized as result.json says", async () => {
    const events: FuseProgress[] = [];
    const out = await client().fuse(sample.meta, sample.frames, {
      pollIntervalMs: 200,
      onProgress: (e) => events.push(e),
    });
    fusedId = out.capture.id;
    expect(out.finalize).toMatchObject({ state: "queued", cacheHit: false });
    expect(out.finalize.address).toMatch(/^[0-9a-f]{64}$/);
    expect(out.status.state).toBe("done");
    expect(out.status.progress).toEqual({ framesUploaded: 5, framesTotal: 5 });
    // Every frame went by signed PUT (all are below 8 MiB) and the server holds the same bytes.
    expect(out.status.frames.map((f) => f.sha256)).toEqual(sample.frames.map(sha256));

    const phases = [...new Set(events.map((e) => e.phase))];
    expect(phases).toEqual(["created", "uploading", "finalized", "processing"]);
    const uploading = events.filter((e) => e.phase === "uploading");
    expect(uploading.at(-1)).toMatchObject({
      framesUploaded: 5,
      framesTotal: 5,
      bytesSent: sample.frames.reduce((a, f) => a + f.byteLength, 0),
    });
    const states = events.flatMap((e) => (e.phase === "processing" ? [e.status.state] : []));
    expect(states.at(-1)).toBe("done");
    // States only move forward.
    const order: CaptureState[] = ["uploading", "queued", "processing", "done"];
    const ranks = states.map((s) => order.indexOf(s));
    expect(ranks.every((r, i) => r >= 0 && (i === 0 || r >= ranks[i - 1]!))).toBe(true);

    const { depth } = out;
    const json = await out.capture.getDepth("json");
    expect([depth.width, depth.height]).toEqual([json.width, json.height]);
    expect([json.width, json.height]).toEqual([640, 480]);
    expect(depth.data).toBeInstanceOf(Float32Array);
    expect(depth.data.length).toBe(json.width * json.height);
    expect(json.stage).toBe(depth.result.stage);
    const { min, max } = json.depthRangeM;
    expect(depth.data.every((v) => Number.isFinite(v) && v >= min - 1e-6 && v <= max + 1e-6)).toBe(
      true,
    );
    fusedDepthSha = sha256(new Uint8Array(depth.data.buffer));

    // The other formats come back as bytes: PNGs, one confidence byte per pixel.
    const png16 = await out.capture.getDepth("png16");
    expect([...png16.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    const confidence = await out.capture.getDepth("confidence");
    expect(confidence.byteLength).toBe(json.width * json.height);
  });

  it("reattaches to a capture by id", async () => {
    const again = client().capture(fusedId);
    expect((await again.status()).state).toBe("done");
    const depth = await again.getDepth();
    expect(sha256(new Uint8Array(depth.data.buffer))).toBe(fusedDepthSha);
  });

  it("bad metadata is a typed 400 invalid_capture with the server's message, not retried", async () => {
    const meta = structuredClone(sample.meta);
    meta.frames[1]!.focusDistance = meta.frames[0]!.focusDistance;
    const err = await client()
      .createCapture(meta)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HybridDepthApiError);
    expect(err).toMatchObject({ status: 400, code: "invalid_capture" });
    expect((err as Error).message).toMatch(/duplicate focusDistance/);
    expect(isApiError(err, "invalid_capture")).toBe(true);
  });

  it("uploads through tus above a lowered threshold; the same bytes and metadata are a cache hit", async () => {
    // Credentials from a token getter (a JWT app's way), asked before each request, tus included.
    let tokens = 0;
    const c = new HybridDepthClient({
      baseUrl: stack.edge.url,
      getToken: async () => {
        tokens++;
        return stack.apiKey;
      },
      tusThresholdBytes: 1,
    });
    const capture = await c.createCapture(sample.meta);
    const progress: number[][] = sample.frames.map(() => []);
    const uploaded = await Promise.all(
      sample.frames.map((f, i) =>
        capture.uploadFrame(i, i % 2 ? new Blob([f]) : f, {
          onProgress: (p) => progress[i]!.push(p.bytesSent),
        }),
      ),
    );
    expect(uploaded.map((u) => u.via)).toEqual(["tus", "tus", "tus", "tus", "tus"]);
    expect(tokens).toBeGreaterThanOrEqual(1 + 5 * 2); // create, then POST + PATCH per frame
    expect(progress.map((p) => p.at(-1))).toEqual(sample.frames.map((f) => f.byteLength));
    const status = await capture.status();
    expect(status.frames.map((f) => f.sha256)).toEqual(sample.frames.map(sha256));
    // Same frames, metadata and options as the fused capture: answered from the cache.
    const fin = await capture.finalize();
    expect(fin).toMatchObject({ state: "done", cacheHit: true });
    const depth = await capture.getDepth();
    expect(sha256(new Uint8Array(depth.data.buffer))).toBe(fusedDepthSha);
  });

  it("a reattached capture uploads through tus, resuming after a dropped connection", async () => {
    const proxy = await startDropProxy(stack.edge.port, 40_000);
    try {
      const meta = structuredClone(sample.meta);
      meta.options = { stage: "dff" };
      const created = await client().createCapture(meta);
      const capture = client({ baseUrl: proxy.url }).capture(created.id);
      expect(capture.uploads).toEqual([]);
      // Frame 2 (63 KB) crosses the 40 KB cut: tus-js-client asks the offset and goes on.
      const up = await capture.uploadFrame(2, sample.frames[2]!);
      expect(up).toMatchObject({ index: 2, via: "tus", bytes: sample.frames[2]!.byteLength });
      expect(proxy.drops()).toBe(1);
      const status = await capture.status();
      expect(status.frames[2]).toMatchObject({ uploaded: true, sha256: sha256(sample.frames[2]!) });
      expect(status.progress.framesUploaded).toBe(1);
      // Finalizing with frames missing is a typed 409.
      await expect(capture.finalize()).rejects.toMatchObject({
        status: 409,
        code: "frames_missing",
      });
      await capture.delete();
      await expect(capture.status()).rejects.toMatchObject({
        status: 404,
        code: "capture_not_found",
      });
    } finally {
      await proxy.close();
    }
  });

  it("waitForDepth stops at once when its signal aborts; depth before done is a typed 409", async () => {
    const capture = await client().createCapture(sample.meta);
    await expect(capture.getDepth("json")).rejects.toMatchObject({
      status: 409,
      code: "result_not_ready",
    });
    const controller = new AbortController();
    const reason = new DOMException("user left the screen", "AbortError");
    const states: string[] = [];
    // Never finalized: without the abort it would poll for good (one poll per 10 minutes).
    const waiting = capture.waitForDepth({
      signal: controller.signal,
      pollIntervalMs: 600_000,
      onProgress: (s) => {
        states.push(s.state);
        controller.abort(reason);
      },
    });
    await expect(within(waiting, 15_000)).rejects.toBe(reason);
    expect(states).toEqual(["uploading"]);
    // An already-aborted signal rejects before any request.
    await expect(capture.status({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await capture.delete();
  });

  it("an expired signed URL is a typed 403 url_expired; tus still takes the frame", async () => {
    // A worker whose upload URLs are born expired (no GPU service needed for this).
    const edge = await startEdgeWorker({
      DEV_API_KEY: stack.apiKey,
      UPLOAD_SIGNING_KEY: "sdk-test-upload-signing-key-0123",
      GPU_SERVICE_SECRET: "sdk-test-gpu-secret-0123456789",
      UPLOAD_URL_TTL_SECONDS: "-60",
    });
    try {
      const capture = await client({ baseUrl: edge.url }).createCapture(sample.meta);
      const err = await capture.uploadFrame(0, sample.frames[0]!).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HybridDepthApiError);
      expect(err).toMatchObject({ status: 403, code: "url_expired" });
      const viaTus = await capture.uploadFrame(0, sample.frames[0]!, { via: "tus" });
      expect(viaTus.via).toBe("tus");
      expect((await capture.status()).frames[0]!.uploaded).toBe(true);
    } finally {
      await edge.stop();
    }
  });
});

/**
 * A loopback HTTP proxy in front of the worker that answers the first `n` requests matching a
 * rule with 503 + Retry-After: 0 (or cuts their connection), and forwards the rest.
 */
interface Rule {
  match: (req: IncomingMessage) => boolean;
  remaining: number;
  mode: "503" | "429" | "reset";
}
class FaultProxy {
  readonly hits = new Map<string, number>();
  private rules: Rule[] = [];
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  url = "";

  async start(upstreamPort: number): Promise<this> {
    this.server = createServer((req, res) => {
      const kind = `${req.method} ${(req.url ?? "").replace(/\?.*$/, "").replace(/[0-9a-f-]{36}/g, ":id")}`;
      this.hits.set(kind, (this.hits.get(kind) ?? 0) + 1);
      const rule = this.rules.find((r) => r.remaining > 0 && r.match(req));
      if (rule) {
        rule.remaining--;
        if (rule.mode === "reset") {
          req.socket.destroy();
          return;
        }
        req.resume();
        req.on("end", () => {
          res.writeHead(rule.mode === "503" ? 503 : 429, {
            "content-type": "application/json",
            "retry-after": "0",
            connection: "close",
          });
          res.end(
            JSON.stringify({
              error:
                rule.mode === "503"
                  ? { code: "overloaded", message: "proxy says: busy" }
                  : { code: "rate_limited", message: "proxy says: slow down" },
            }),
          );
        });
        return;
      }
      const up = request(
        {
          host: "127.0.0.1",
          port: upstreamPort,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on("error", () => req.socket.destroy());
      req.pipe(up);
    });
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  fail(method: string, path: RegExp, n: number, mode: Rule["mode"] = "503"): void {
    this.rules.push({
      match: (req) => req.method === method && path.test(req.url ?? ""),
      remaining: n,
      mode,
    });
  }

  count(kind: string): number {
    return this.hits.get(kind) ?? 0;
  }

  reset(): void {
    this.rules = [];
    this.hits.clear();
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe("SDK retries through a faulty proxy", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await new FaultProxy().start(stack.edge.port);
  });
  afterAll(async () => {
    await proxy?.close();
  });
  const viaProxy = (attempts = 4) =>
    client({ baseUrl: proxy.url, retry: { ...FAST_RETRY, attempts } });

  it("retries 503 + Retry-After and succeeds; gives up after `attempts` with the typed error", async () => {
    proxy.reset();
    proxy.fail("POST", /^\/v1\/captures$/, 2);
    const capture = await viaProxy(4).createCapture(sample.meta);
    expect(capture.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(proxy.count("POST /v1/captures")).toBe(3);

    proxy.reset();
    proxy.fail("GET", /^\/v1\/captures\/[^/]+$/, 10);
    const err = await viaProxy(3)
      .capture(capture.id)
      .status()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HybridDepthApiError);
    expect(err).toMatchObject({ status: 503, code: "overloaded", retryAfterMs: 0 });
    expect(proxy.count("GET /v1/captures/:id")).toBe(3);
    await capture.delete();
  });

  it("never retries a 4xx", async () => {
    proxy.reset();
    const meta = structuredClone(sample.meta);
    meta.frames = meta.frames.slice(0, 1);
    await expect(viaProxy(4).createCapture(meta)).rejects.toMatchObject({
      status: 400,
      code: "invalid_capture",
    });
    expect(proxy.count("POST /v1/captures")).toBe(1);
  });

  it("retries cut connections, then reports a NetworkError", async () => {
    proxy.reset();
    const capture = await viaProxy().createCapture(sample.meta);
    proxy.fail("GET", /^\/v1\/captures\/[^/]+$/, 2, "reset");
    expect((await capture.status()).state).toBe("uploading");
    expect(proxy.count("GET /v1/captures/:id")).toBe(3);

    proxy.reset();
    proxy.fail("GET", /^\/v1\/captures\/[^/]+$/, 10, "reset");
    const err = await viaProxy(2)
      .capture(capture.id)
      .status()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(proxy.count("GET /v1/captures/:id")).toBe(2);
    proxy.reset();
    await capture.delete();
  });

  it("a second uploadFrame resumes the tus upload an interruption left (HEAD, no new upload)", async () => {
    proxy.reset();
    const c = client({ baseUrl: proxy.url, retry: { ...FAST_RETRY, attempts: 1 } });
    const capture = await c.createCapture(sample.meta);
    proxy.fail("PATCH", /^\/v1\/tus\//, 1, "reset");
    const err = await capture.uploadFrame(3, sample.frames[3]!, { via: "tus" }).catch((e) => e);
    expect(err).toBeInstanceOf(NetworkError);
    const up = await capture.uploadFrame(3, sample.frames[3]!, { via: "tus" });
    expect(up.via).toBe("tus");
    expect(proxy.count("POST /v1/tus")).toBe(1);
    expect(proxy.count("HEAD /v1/tus/:id")).toBe(1);
    expect(proxy.count("PATCH /v1/tus/:id")).toBe(2);
    expect((await capture.status()).frames[3]).toMatchObject({ sha256: sha256(sample.frames[3]!) });
    await capture.delete();
  });

  it("retries signed PUTs, tus requests, finalize and polls, and the capture still completes", async () => {
    proxy.reset();
    const meta = structuredClone(sample.meta);
    meta.options = { stage: "dff" };
    const c = viaProxy(4);
    const capture = await c.createCapture(meta);
    // The signed URLs point where the request came in: through the proxy.
    expect(capture.uploads[0]!.url.startsWith(proxy.url)).toBe(true);
    proxy.fail("PUT", /^\/v1\/uploads\//, 3);
    proxy.fail("PATCH", /^\/v1\/tus\//, 1);
    proxy.fail("POST", /^\/v1\/tus$/, 1, "reset");
    proxy.fail("POST", /\/finalize$/, 2);
    proxy.fail("GET", /^\/v1\/captures\/[^/]+$/, 2, "429");
    await Promise.all(
      sample.frames.map((f, i) => capture.uploadFrame(i, f, i === 4 ? { via: "tus" } : {})),
    );
    const puts = [0, 1, 2, 3].reduce((a, i) => a + proxy.count(`PUT /v1/uploads/:id/${i}`), 0);
    expect(puts).toBe(4 + 3);
    expect(proxy.count("POST /v1/tus")).toBe(2);
    expect(proxy.count("PATCH /v1/tus/:id")).toBe(2);
    const fin = await capture.finalize();
    expect(fin.state).toBe("queued");
    // One key for the three tries: the worker enqueued the job once.
    expect(proxy.count("POST /v1/captures/:id/finalize")).toBe(3);
    const done = await capture.waitForDepth({ pollIntervalMs: 200 });
    expect(done.state).toBe("done");
    expect(done.attempts).toBe(1);
    expect(proxy.count("GET /v1/captures/:id")).toBeGreaterThanOrEqual(3);
    const depth = await capture.getDepth();
    expect(depth.result.stage).toBe("dff");
  });
});
