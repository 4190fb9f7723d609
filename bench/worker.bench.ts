/**
 * `npm run bench:worker`: the edge worker in `wrangler dev` on loopback. Per-request latency of
 * create, status and a small signed PUT (medians; at loopback this bounds the worker's CPU time
 * from above), and the upload throughput of a 12 MP frame through a signed PUT and through tus,
 * as ratios against a plain loopback HTTP sink measured in the same run.
 */

import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import sharp from "sharp";
import * as tus from "tus-js-client";
import { startEdgeWorker } from "../scripts/localStack.ts";
import { median } from "../shared/src/math/stats.ts";
import { hasSharedData, SHARED_DATA } from "../test/helpers/sharedData.ts";

const KEY = "bench-api-key-0123456789";
const auth = { authorization: `Bearer ${KEY}` };
const N = Number(process.env.BENCH_REQUESTS ?? 30);

async function twelveMegapixelFrames(): Promise<{ jpeg: Buffer; png: Buffer; source: string }> {
  const real = join(SHARED_DATA, "focal-real", "pixel6pro-desk", "image_1_0.35.jpg");
  const jpeg = hasSharedData("focal-real/pixel6pro-desk")
    ? await readFile(real)
    : await sharp({
        create: {
          width: 4000,
          height: 3000,
          channels: 3,
          background: "#808080",
          noise: { type: "gaussian", mean: 128, sigma: 40 },
        },
      })
        .jpeg({ quality: 92 })
        .toBuffer();
  const png = await sharp(jpeg).png({ compressionLevel: 1 }).toBuffer();
  return {
    jpeg,
    png,
    source: hasSharedData("focal-real/pixel6pro-desk")
      ? "pixel6pro-desk frame 1"
      : "synthetic noise 4000×3000",
  };
}

async function timed<T>(f: () => Promise<T>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

async function createCapture(base: string, sizes: { bytes: number; contentType: string }[]) {
  const res = await fetch(`${base}/v1/captures`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({
      version: 1,
      frames: sizes.map((s, i) => ({
        file: `f${i}.${s.contentType === "image/png" ? "png" : "jpg"}`,
        focusDistance: 0.3 + i,
        ...s,
      })),
    }),
  });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
  return (await res.json()) as {
    id: string;
    uploads: { url: string; headers: Record<string, string> }[];
    tus: { endpoint: string };
  };
}

/** A loopback sink that reads and discards the body: the floor any upload path pays here. */
async function sinkThroughput(bytes: Buffer, runs: number): Promise<number> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(201).end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  const ms = median(
    await sequential(runs, () =>
      timed(() =>
        fetch(`http://127.0.0.1:${port}/`, { method: "PUT", body: bytes }).then((r) =>
          r.arrayBuffer(),
        ),
      ),
    ),
  );
  server.close();
  return bytes.byteLength / 2 ** 20 / (ms / 1000);
}

async function sequential(n: number, f: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
}

const edge = await startEdgeWorker({
  DEV_API_KEY: KEY,
  UPLOAD_SIGNING_KEY: "bench-signing-key-0123456789",
  GPU_SERVICE_SECRET: "bench-gpu-secret-0123456789",
});
try {
  const small = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#888" } })
    .jpeg()
    .toBuffer();
  const createMs = median(
    await sequential(N, () =>
      timed(() =>
        createCapture(edge.url, [
          { bytes: small.byteLength, contentType: "image/jpeg" },
          { bytes: small.byteLength, contentType: "image/jpeg" },
        ]),
      ),
    ),
  );
  const captures = await Promise.all(
    Array.from({ length: N }, () =>
      createCapture(edge.url, [
        { bytes: small.byteLength, contentType: "image/jpeg" },
        { bytes: small.byteLength, contentType: "image/jpeg" },
      ]),
    ),
  );
  let i = 0;
  const putMs = median(
    await sequential(N, () => {
      const c = captures[i++]!;
      return timed(async () => {
        const r = await fetch(c.uploads[0]!.url, {
          method: "PUT",
          body: small,
          headers: { "content-type": "image/jpeg" },
        });
        if (r.status !== 201) throw new Error(`put ${r.status}`);
      });
    }),
  );
  i = 0;
  const statusMs = median(
    await sequential(N, () => {
      const c = captures[i++]!;
      return timed(() =>
        fetch(`${edge.url}/v1/captures/${c.id}`, { headers: auth }).then((r) => r.json()),
      );
    }),
  );

  const { jpeg, png, source } = await twelveMegapixelFrames();
  const runs = 3;
  const mib = (b: Buffer) => b.byteLength / 2 ** 20;
  const throughput: Record<string, { put: number; tus: number; sink: number; mib: number }> = {};
  for (const [name, frame, type] of [
    ["JPEG", jpeg, "image/jpeg"],
    ["PNG", png, "image/png"],
  ] as const) {
    const sink = await sinkThroughput(frame, runs);
    const putMs = median(
      await sequential(runs, async () => {
        const c = await createCapture(edge.url, [
          { bytes: frame.byteLength, contentType: type },
          { bytes: small.byteLength, contentType: "image/jpeg" },
        ]);
        return timed(async () => {
          const r = await fetch(c.uploads[0]!.url, {
            method: "PUT",
            body: frame,
            headers: { "content-type": type },
          });
          if (r.status !== 201) throw new Error(`put ${r.status} ${await r.text()}`);
        });
      }),
    );
    const tusMs = median(
      await sequential(runs, async () => {
        const c = await createCapture(edge.url, [
          { bytes: frame.byteLength, contentType: type },
          { bytes: small.byteLength, contentType: "image/jpeg" },
        ]);
        return timed(
          () =>
            new Promise<void>((resolve, reject) =>
              new tus.Upload(frame, {
                endpoint: c.tus.endpoint,
                headers: auth,
                metadata: { captureId: c.id, frameIndex: "0" },
                storeFingerprintForResuming: false,
                onError: reject,
                onSuccess: () => resolve(),
              }).start(),
            ),
        );
      }),
    );
    throughput[name] = {
      put: mib(frame) / (putMs / 1000),
      tus: mib(frame) / (tusMs / 1000),
      sink,
      mib: mib(frame),
    };
  }

  console.log(`edge worker in wrangler dev, loopback, medians of ${N} requests`);
  console.table({
    create: { ms: +createMs.toFixed(1) },
    "signed PUT (1 KB frame)": { ms: +putMs.toFixed(1) },
    status: { ms: +statusMs.toFixed(1) },
  });
  console.log(
    `12 MP frame (${source}), medians of ${runs}; ratio = worker throughput ÷ plain loopback HTTP sink`,
  );
  console.table(
    Object.fromEntries(
      Object.entries(throughput).map(([k, v]) => [
        k,
        {
          MiB: +v.mib.toFixed(1),
          "signed PUT MiB/s": +v.put.toFixed(1),
          "tus MiB/s": +v.tus.toFixed(1),
          "sink MiB/s": +v.sink.toFixed(1),
          "PUT ÷ sink": +(v.put / v.sink).toFixed(2),
          "tus ÷ sink": +(v.tus / v.sink).toFixed(2),
        },
      ]),
    ),
  );
} finally {
  await edge.stop();
}
