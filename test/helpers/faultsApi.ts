/**
 * Plain-fetch helpers for the fault and hostile-input suites: the edge worker's public API as a
 * client sees it (no SDK), frames made from the bundled sample, a crafted PNG decompression bomb
 * and a look into wrangler dev's local R2 files.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { deflateSync } from "node:zlib";
import sharp from "sharp";
import type { CaptureStatus } from "../../shared/src/client/types.ts";
import type { CaptureState } from "../../shared/src/service/captureState.ts";
import { BUNDLED_SAMPLE } from "./sharedData.ts";

export type { CaptureState };

export interface FrameSpec {
  file: string;
  focusDistance: number;
  bytes: number;
  contentType: "image/jpeg" | "image/png";
}

export interface Created {
  id: string;
  state: string;
  uploads: { index: number; url: string; method: string; headers: Record<string, string> }[];
  tus: { endpoint: string };
}

/** `GET /v1/captures/:id`, as the SDK types it. */
export type Status = CaptureStatus;

export const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** `{ error: { code } }` of an answer (undefined when the body is not our error JSON). */
export async function errorCode(res: Response): Promise<string | undefined> {
  const text = await res.text();
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** The edge API with one API key. */
export function edgeApi(base: () => string, apiKey: string) {
  const auth = () => ({ authorization: `Bearer ${apiKey}` });
  const api = {
    auth,
    fetch(path: string, init: RequestInit = {}): Promise<Response> {
      return fetch(base() + path, {
        ...init,
        headers: { ...auth(), ...(init.headers as Record<string, string> | undefined) },
      });
    },
    async create(body: unknown): Promise<Created> {
      const res = await api.fetch("/v1/captures", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`create capture: ${res.status} ${await res.text()}`);
      return (await res.json()) as Created;
    },
    /** Creates a capture for these frames and uploads them through their signed PUT URLs. */
    async upload(
      frames: readonly Uint8Array[],
      specs: readonly Omit<FrameSpec, "bytes">[],
      extra: Record<string, unknown> = {},
    ): Promise<Created> {
      const created = await api.create({
        version: 1,
        ...extra,
        frames: specs.map((s, i) => ({ ...s, bytes: frames[i]!.byteLength })),
      });
      for (const u of created.uploads) {
        const res = await fetch(u.url, {
          method: "PUT",
          headers: u.headers,
          body: frames[u.index]!,
        });
        if (res.status !== 201)
          throw new Error(`PUT frame ${u.index}: ${res.status} ${await res.text()}`);
      }
      return created;
    },
    async finalize(id: string, headers: Record<string, string> = {}): Promise<Response> {
      return api.fetch(`/v1/captures/${id}/finalize`, { method: "POST", headers });
    },
    async status(id: string): Promise<Status> {
      const res = await api.fetch(`/v1/captures/${id}`);
      if (res.status !== 200) throw new Error(`status ${id}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Status;
    },
    /** Polls the status until `until` holds; every distinct state seen is kept in `seen`. */
    async waitFor(
      id: string,
      until: (s: Status) => boolean,
      timeoutMs: number,
      seen: CaptureState[] = [],
    ): Promise<Status> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await api.status(id);
        if (seen[seen.length - 1] !== s.state) seen.push(s.state);
        if (until(s)) return s;
        if (Date.now() > deadline)
          throw new Error(
            `capture ${id} still ${s.state} after ${timeoutMs} ms (seen ${seen.join(" → ")}): ${JSON.stringify(s)}`,
          );
        await sleep(100);
      }
    },
    /** Waits for done or failed. */
    settled(id: string, timeoutMs: number, seen: CaptureState[] = []): Promise<Status> {
      return api.waitFor(id, (s) => s.state === "done" || s.state === "failed", timeoutMs, seen);
    },
  };
  return api;
}

export type EdgeApi = ReturnType<typeof edgeApi>;

export interface SampleCapture {
  frames: Buffer[];
  specs: Omit<FrameSpec, "bytes">[];
  camera: Record<string, number>;
}

/**
 * The bundled sample's frames, resized to `width` (4:3) and re-encoded as JPEG; `focusOffset`
 * (metres) moves every focus distance a little, so captures with it differ in content address
 * and never hit an earlier result in the cache.
 */
export async function sampleCapture(width: number, focusOffset: number): Promise<SampleCapture> {
  const meta = JSON.parse(await readFile(join(BUNDLED_SAMPLE, "capture.json"), "utf8")) as {
    frames: { file: string; focusDistance: number }[];
    camera: Record<string, number>;
  };
  const frames = await Promise.all(
    meta.frames.map(async (f) =>
      sharp(await readFile(join(BUNDLED_SAMPLE, f.file)))
        .resize(width, Math.round((width * 3) / 4))
        .jpeg({ quality: 90 })
        .toBuffer(),
    ),
  );
  return {
    frames,
    specs: meta.frames.map((f) => ({
      file: f.file,
      focusDistance: Number((f.focusDistance + focusOffset).toFixed(6)),
      contentType: "image/jpeg" as const,
    })),
    camera: meta.camera,
  };
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.byteLength, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A valid PNG of `width`×`height` black pixels (1-bit grey) whose deflated data is tiny: a
 * decompression bomb (30000×30000 is 900 MP in about 100 KiB). Built by hand, so making it costs
 * a fraction of a second rather than encoding 900 MP.
 */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const row = Math.ceil(width / 8) + 1; // filter byte + packed pixels, all zero
  const raw = Buffer.alloc(row * height);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(raw, { level: 9 })),
    pngChunk("IEND", new Uint8Array(0)),
  ]);
}

/**
 * wrangler dev keeps local R2 object bytes as plain files under
 * `<persistTo>/v3/r2/<bucket>/blobs/`; the path of the one holding bytes with this sha256.
 */
export async function findR2Blob(persistTo: string, digest: string): Promise<string | undefined> {
  const r2 = join(persistTo, "v3", "r2");
  for (const bucket of await readdir(r2, { withFileTypes: true })) {
    if (!bucket.isDirectory()) continue;
    const blobs = join(r2, bucket.name, "blobs");
    let names: string[];
    try {
      names = await readdir(blobs);
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(blobs, name);
      if (sha256(await readFile(path)) === digest) return path;
    }
  }
  return undefined;
}
