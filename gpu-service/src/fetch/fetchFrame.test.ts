import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HybridDepthError } from "#shared/errors.ts";
import { type FetchOptions, fetchFrame, frameAgent } from "./fetchFrame.ts";
import { DEFAULT_FRAME_ORIGINS, originAllowed, parseOriginRules } from "./frameOrigins.ts";

const FRAME = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) & 0xff));
const FRAME_SHA = createHash("sha256").update(FRAME).digest("hex");

/** Requests seen per path (query included), so tests can count attempts. */
const hits = new Map<string, number>();
let connections = 0;
let server: Server;
let base: string;
let agent: Agent;

function route(req: IncomingMessage, res: ServerResponse): void {
  const key = req.url ?? "/";
  const n = (hits.get(key) ?? 0) + 1;
  hits.set(key, n);
  const path = new URL(key, "http://x").pathname;

  if (path === "/ok" || path.startsWith("/ok/")) {
    res.writeHead(200, { "content-type": "image/jpeg", "content-length": FRAME.length });
    res.end(FRAME);
  } else if (path === "/missing") {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("no such frame");
  } else if (path.startsWith("/flaky/")) {
    if (n <= 2) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("try again");
    } else {
      res.writeHead(200, { "content-length": FRAME.length });
      res.end(FRAME);
    }
  } else if (path.startsWith("/busy/")) {
    if (n === 1) {
      res.writeHead(429, { "retry-after": "0" });
      res.end();
    } else {
      res.writeHead(200, { "content-length": FRAME.length });
      res.end(FRAME);
    }
  } else if (path.startsWith("/broken/")) {
    res.writeHead(500, { "content-type": "text/plain" });
    res.end("broken");
  } else if (path.startsWith("/hang/")) {
    // never answers
  } else if (path.startsWith("/stall/")) {
    res.writeHead(200, { "content-length": 1000 });
    res.write(Buffer.alloc(100));
    // then never finishes
  } else if (path.startsWith("/truncated/")) {
    res.writeHead(200, { "content-length": 1000 });
    res.write(Buffer.alloc(500, 1), () => res.socket?.destroy());
  } else if (path.startsWith("/big")) {
    res.writeHead(200, { "content-length": 2000 });
    res.end(Buffer.alloc(2000));
  } else if (path.startsWith("/chunked-big")) {
    res.writeHead(200, { "content-type": "image/jpeg" }); // no content-length: chunked
    for (let i = 0; i < 8; i++) res.write(Buffer.alloc(500, i));
    res.end();
  } else if (path === "/signed/f02.jpg") {
    res.writeHead(403);
    res.end("signature expired");
  } else if (path === "/moved") {
    res.writeHead(302, { location: "/ok" });
    res.end();
  } else {
    res.writeHead(404);
    res.end();
  }
}

beforeAll(async () => {
  server = createServer(route);
  server.on("connection", () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  agent = new Agent({ keepAliveTimeout: 2_000 });
});

afterAll(async () => {
  await agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Small timings so the whole file runs in a couple of seconds. */
function opts(extra: Partial<FetchOptions> = {}): Partial<FetchOptions> {
  return {
    timeoutMs: 2_000,
    retries: 3,
    backoffMs: 5,
    maxBytes: 1_000_000,
    dispatcher: agent,
    ...extra,
  };
}

async function failure(p: Promise<unknown>): Promise<HybridDepthError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(HybridDepthError);
    return e as HybridDepthError;
  }
  throw new Error("expected fetchFrame to fail");
}

describe("fetchFrame", () => {
  it("fetches the bytes of a frame", async () => {
    const bytes = await fetchFrame(`${base}/ok`, "frame 0 (f00.jpg)", undefined, opts());
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(bytes).equals(FRAME)).toBe(true);
  });

  it("uses the shared pooled agent by default", async () => {
    expect(frameAgent()).toBe(frameAgent());
    const { dispatcher: _, ...rest } = opts();
    const bytes = await fetchFrame(`${base}/ok/default`, "frame 0", undefined, rest);
    expect(bytes.byteLength).toBe(FRAME.length);
  });

  it("returns the socket to the pool after every kind of answer (no leaked bodies)", async () => {
    // One connection at most: a body left unconsumed would make the next fetch hang and time out.
    const own = new Agent({ keepAliveTimeout: 2_000, connections: 1 });
    try {
      const before = connections;
      const o = opts({ dispatcher: own, timeoutMs: 1_000, retries: 0 });
      await fetchFrame(`${base}/ok/a`, "frame 0", undefined, o);
      await failure(fetchFrame(`${base}/missing`, "frame 1", undefined, o));
      await failure(fetchFrame(`${base}/ok/b`, "frame 2", "0".repeat(64), o));
      await failure(fetchFrame(`${base}/broken/pool`, "frame 3", undefined, o));
      await fetchFrame(`${base}/ok/c`, "frame 4", FRAME_SHA, o);
      expect(connections - before).toBe(1);
      // Cut-off bodies close their socket; the pool must still serve the next fetch.
      await failure(fetchFrame(`${base}/big/pool`, "frame 5", undefined, { ...o, maxBytes: 1000 }));
      await failure(
        fetchFrame(`${base}/chunked-big/pool`, "frame 6", undefined, { ...o, maxBytes: 1000 }),
      );
      await fetchFrame(`${base}/ok/d`, "frame 7", undefined, o);
    } finally {
      await own.destroy();
    }
  });

  it("fails on 404 without retrying, as the job's fault (4xx), naming the frame and the status", async () => {
    const e = await failure(fetchFrame(`${base}/missing`, "frame 1 (f01.jpg)", undefined, opts()));
    expect(e.code).toBe("frame_not_found");
    expect(e.status).toBe(422);
    expect(e.message).toContain("frame 1 (f01.jpg)");
    expect(e.message).toContain("HTTP 404");
    expect(e.message).not.toContain("attempts");
  });

  it("does not follow redirects", async () => {
    const e = await failure(fetchFrame(`${base}/moved`, "frame 1", undefined, opts()));
    expect(e.code).toBe("frame_url_refused");
    expect(e.status).toBe(422);
    expect(e.message).toContain("HTTP 302");
    expect(hits.get("/moved")).toBe(1);
  });

  it("never requests a URL outside the configured origins, and says nothing about it", async () => {
    const origins = parseOriginRules("http://example.invalid:*");
    const e = await failure(
      fetchFrame(`${base}/ok/other`, "frame 1", undefined, opts({ origins })),
    );
    expect(e.code).toBe("frame_origin_refused");
    expect(e.status).toBe(422);
    expect(hits.get("/ok/other")).toBeUndefined();
    expect(e.message).not.toMatch(/HTTP|bytes|sha256/);
    // The same server, listed: fetched.
    const allowed = parseOriginRules(`http://example.invalid,${base}`);
    const bytes = await fetchFrame(
      `${base}/ok/other`,
      "frame 1",
      undefined,
      opts({ origins: allowed }),
    );
    expect(bytes.byteLength).toBe(FRAME.length);
  });

  it("parses FRAME_ORIGINS entries strictly", () => {
    expect(parseOriginRules(DEFAULT_FRAME_ORIGINS).map((r) => r.hostname)).toEqual([
      "127.0.0.1",
      "localhost",
      "[::1]",
    ]);
    const [rule] = parseOriginRules("https://api.example.com");
    expect(originAllowed(new URL("https://api.example.com/f?x=1"), [rule!])).toBe(true);
    expect(originAllowed(new URL("https://api.example.com:8443/f"), [rule!])).toBe(false);
    expect(originAllowed(new URL("http://api.example.com/f"), [rule!])).toBe(false);
    for (const bad of ["https://api.example.com/path", "ftp://x", "https://u:p@x", "nonsense"])
      expect(() => parseOriginRules(bad), bad).toThrow();
  });

  it("retries 5xx answers and succeeds on the third attempt", async () => {
    const bytes = await fetchFrame(`${base}/flaky/1`, "frame 2", undefined, opts());
    expect(Buffer.from(bytes).equals(FRAME)).toBe(true);
    expect(hits.get("/flaky/1")).toBe(3);
  });

  it("retries a 429 answer", async () => {
    const bytes = await fetchFrame(`${base}/busy/1`, "frame 2", undefined, opts());
    expect(bytes.byteLength).toBe(FRAME.length);
    expect(hits.get("/busy/1")).toBe(2);
  });

  it("gives up on a 5xx after retries + 1 attempts", async () => {
    const e = await failure(
      fetchFrame(`${base}/broken/1`, "frame 3", undefined, opts({ retries: 2 })),
    );
    expect(e.code).toBe("frame_fetch_failed");
    expect(e.message).toContain("HTTP 500");
    expect(e.message).toContain("3 attempts");
    expect(hits.get("/broken/1")).toBe(3);
  });

  it("times out a server that never answers, after retries", async () => {
    const started = Date.now();
    const e = await failure(
      fetchFrame(`${base}/hang/1`, "frame 4", undefined, opts({ timeoutMs: 200, retries: 1 })),
    );
    expect(e.code).toBe("frame_fetch_timeout");
    expect(e.status).toBe(504);
    expect(e.message).toContain("frame 4");
    expect(e.message).toContain("timed out after 200 ms");
    expect(hits.get("/hang/1")).toBe(2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("times out a body that stalls (the timeout covers the whole attempt)", async () => {
    const e = await failure(
      fetchFrame(`${base}/stall/1`, "frame 4", undefined, opts({ timeoutMs: 200, retries: 0 })),
    );
    expect(e.code).toBe("frame_fetch_timeout");
    expect(e.message).toContain("timed out after 200 ms");
  });

  it("retries and then fails on a body cut short by a reset connection", async () => {
    const e = await failure(
      fetchFrame(`${base}/truncated/1`, "frame 5", undefined, opts({ retries: 1 })),
    );
    expect(e.code).toBe("frame_fetch_failed");
    expect(e.message).toContain("frame 5");
    expect(e.message).toMatch(/got \d+ of 1000 bytes/);
    expect(hits.get("/truncated/1")).toBe(2);
  });

  it("refuses a body whose content-length exceeds maxBytes, without retrying", async () => {
    const e = await failure(
      fetchFrame(`${base}/big`, "frame 6", undefined, opts({ maxBytes: 1000 })),
    );
    expect(e.code).toBe("frame_bytes_too_large");
    expect(e.status).toBe(413);
    expect(e.message).toContain("2000");
    expect(hits.get("/big")).toBe(1);
  });

  it("refuses a chunked body that grows past maxBytes while streaming", async () => {
    const e = await failure(
      fetchFrame(`${base}/chunked-big`, "frame 7", undefined, opts({ maxBytes: 1000 })),
    );
    expect(e.code).toBe("frame_bytes_too_large");
    expect(e.message).toContain("1000-byte limit");
    expect(hits.get("/chunked-big")).toBe(1);
  });

  it("accepts a matching sha256, in either case", async () => {
    const bytes = await fetchFrame(`${base}/ok`, "frame 8", FRAME_SHA.toUpperCase(), opts());
    expect(bytes.byteLength).toBe(FRAME.length);
  });

  it("rejects a wrong sha256 without retrying", async () => {
    const before = hits.get("/ok/sha") ?? 0;
    const e = await failure(fetchFrame(`${base}/ok/sha`, "frame 8", "0".repeat(64), opts()));
    expect(e.code).toBe("frame_digest_mismatch");
    expect(e.status).toBe(422);
    expect(e.message).toContain("frame 8");
    expect(e.message).toContain(FRAME_SHA);
    expect(hits.get("/ok/sha")).toBe(before + 1);
  });

  it("never puts a signed URL's query in its messages", async () => {
    const signed = `${base}/signed/f02.jpg?X-Amz-Credential=AKIA&X-Amz-Signature=secret`;
    const e = await failure(fetchFrame(signed, "frame 2 (f02.jpg)", undefined, opts()));
    expect(e.code).toBe("frame_url_refused"); // 403: an expired signature is the job's fault
    expect(e.message).toContain(`${base}/signed/f02.jpg`);
    expect(e.message).not.toContain("secret");
    expect(e.message).not.toContain("X-Amz");

    const hung = `${base}/hang/signed?X-Amz-Signature=secret`;
    const t = await failure(
      fetchFrame(hung, "frame 2", undefined, opts({ timeoutMs: 100, retries: 0 })),
    );
    expect(t.code).toBe("frame_fetch_timeout");
    expect(t.message).not.toContain("secret");
  });

  it("fails on a refused connection after retries", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const e = await failure(
      fetchFrame(`http://127.0.0.1:${port}/f.jpg`, "frame 9", undefined, opts({ retries: 1 })),
    );
    expect(e.code).toBe("frame_fetch_failed");
    expect(e.message).toContain("frame 9");
    expect(e.message).toContain("2 attempts");
  });

  it("rejects URL schemes other than http: and https:", async () => {
    for (const url of ["file:///etc/passwd", "ftp://127.0.0.1/f.jpg", "data:,hello"]) {
      const e = await failure(fetchFrame(url, "frame 1", undefined, opts()));
      expect(e.code).toBe("frame_fetch_failed");
      expect(e.message).toContain("unsupported URL scheme");
      expect(e.message).toContain("frame 1");
    }
    const bad = await failure(fetchFrame("not a url?sig=secret", "frame 1", undefined, opts()));
    expect(bad.code).toBe("frame_fetch_failed");
    expect(bad.message).not.toContain("secret");
  });
});
