import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { importJWK, SignJWT } from "jose";
import { sha256Hex } from "#shared/auth/hmac.ts";
import type { WorkerEnv } from "../src/env.ts";
import { framePath, signUrl } from "../src/lib/signedUrl.ts";

/** The bindings the tests see, with the test-only API key (vitest.config.mts). */
export const testEnv = env as unknown as WorkerEnv & {
  TEST_API_KEY: string;
  TEST_JWT_PRIVATE_JWK: string;
};

const worker = (exports as unknown as { default: Fetcher }).default;

/** A request to the worker under test, authenticated with the test API key unless `auth` says otherwise. */
export function api(
  path: string,
  init: RequestInit & { auth?: string | null } = {},
): Promise<Response> {
  const { auth, ...rest } = init;
  const headers = new Headers(rest.headers);
  const token = auth === undefined ? testEnv.TEST_API_KEY : auth;
  if (token !== null && !headers.has("authorization"))
    headers.set("authorization", `Bearer ${token}`);
  const url = path.startsWith("http") ? path : `https://edge.test${path}`;
  return worker.fetch(url, { ...rest, headers });
}

export function postJson(
  path: string,
  body: unknown,
  init: RequestInit & { auth?: string | null } = {},
): Promise<Response> {
  return api(path, {
    ...init,
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) },
  });
}

/** Bytes that start like a JPEG (the worker sniffs magic bytes; it never decodes). */
export function jpegBytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n).map((_, i) => (i * 31 + seed * 7) & 0xff);
  b.set([0xff, 0xd8, 0xff, 0xe0]);
  return b;
}

export function pngBytes(n: number): Uint8Array {
  const b = new Uint8Array(n).fill(7);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return b;
}

export interface Created {
  id: string;
  state: string;
  uploads: {
    index: number;
    url: string;
    method: "PUT";
    headers: Record<string, string>;
    expiresAt: string;
  }[];
  tus: { endpoint: string };
}

/** Capture metadata for `frames` (bytes + content type per frame) in DESIGN.md's shape. */
export function captureMeta(
  frames: { bytes: number; contentType?: string; file?: string }[],
  extra: Record<string, unknown> = {},
) {
  return {
    version: 1,
    focusUnit: "m",
    frames: frames.map((f, i) => ({
      file: f.file ?? `frame-${i}.jpg`,
      focusDistance: 0.3 + i * 0.25,
      bytes: f.bytes,
      contentType: f.contentType ?? "image/jpeg",
    })),
    ...extra,
  };
}

export async function createCapture(
  frames: Uint8Array[],
  extra: Record<string, unknown> = {},
  files?: string[],
): Promise<Created> {
  const meta = captureMeta(
    frames.map((b, i) => ({
      bytes: b.byteLength,
      contentType: b[0] === 0x89 ? "image/png" : "image/jpeg",
      ...(files ? { file: files[i] } : {}),
    })),
    extra,
  );
  const res = await postJson("/v1/captures", meta);
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
  return (await res.json()) as Created;
}

export async function uploadAll(created: Created, frames: Uint8Array[]): Promise<void> {
  for (const u of created.uploads) {
    const res = await api(u.url, {
      method: "PUT",
      body: frames[u.index],
      headers: u.headers,
      auth: null,
    });
    if (res.status !== 201) throw new Error(`upload ${u.index}: ${res.status} ${await res.text()}`);
  }
}

/** Polls the capture until it leaves the queue (or `ms` pass). */
export async function waitForState(
  id: string,
  states: string[],
  ms = 30_000,
): Promise<Record<string, unknown>> {
  const until = Date.now() + ms;
  for (;;) {
    const res = await api(`/v1/captures/${id}`);
    const body = (await res.json()) as Record<string, unknown>;
    if (states.includes(body.state as string) || Date.now() > until) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A JWT from the test issuer (vitest.config.mts holds its key pair), for principal `sub`. */
export async function signJwt(
  sub: string,
  claims: { aud?: string; iss?: string; exp?: number } = {},
  privateJwk = testEnv.TEST_JWT_PRIVATE_JWK,
): Promise<string> {
  const key = await importJWK(JSON.parse(privateJwk), "ES256");
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "test" })
    .setSubject(sub)
    .setIssuer(claims.iss ?? "https://auth.test")
    .setAudience(claims.aud ?? "hybriddepth")
    .setIssuedAt();
  return jwt.setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 600).sign(key);
}

/** How many fuse calls the stubbed GPU service got for each job. */
/** The job ids each capture's calls to the GPU service stub carried, in order. */
export async function gpuJobIds(): Promise<Record<string, string[]>> {
  return (await (await testEnv.GPU_SERVICE!.fetch("http://gpu/job-ids")).json()) as Record<
    string,
    string[]
  >;
}

export async function gpuCalls(): Promise<Record<string, number>> {
  return (await (await testEnv.GPU_SERVICE!.fetch("http://gpu/calls")).json()) as Record<
    string,
    number
  >;
}

export const sha256 = (b: Uint8Array) => sha256Hex(b);

/** The R2 object the capture's record names for frame `index` (null when none is recorded). */
export async function storedFrame(id: string, index: number): Promise<R2ObjectBody | null> {
  const r = await testEnv.CAPTURES.get(testEnv.CAPTURES.idFromName(id)).get();
  const key = r?.frames[index]?.key;
  return key ? testEnv.BUCKET.get(key) : null;
}

/** Every R2 object under frame `index` of a capture (each upload writes its own). */
export async function frameObjects(id: string, index: number): Promise<string[]> {
  const list = await testEnv.BUCKET.list({ prefix: `captures/${id}/frames/${index}/` });
  return list.objects.map((o) => o.key);
}

/** A frame fetched as the GPU service would (a signed GET URL of the edge's own). */
export async function signedFrameGet(id: string, index: number, bytes: number): Promise<Response> {
  const claims = {
    method: "GET" as const,
    path: framePath(id, index),
    captureId: id,
    index,
    bytes,
    contentType: "image/jpeg",
  };
  const url = await signUrl(
    testEnv.UPLOAD_SIGNING_KEY,
    "https://edge.test",
    claims,
    Date.now() + 60_000,
  );
  return api(url, { auth: null });
}

/**
 * Waits, if need be, until the current rate-limit window (local ratelimits count in 60 s
 * windows aligned to the wall clock) has at least `ms` left, so that a test spending a budget
 * does not see its count reset halfway through.
 */
export async function startOfRateWindow(ms: number, periodMs = 60_000): Promise<void> {
  const left = periodMs - (Date.now() % periodMs);
  if (left < ms) await new Promise((r) => setTimeout(r, left + 50));
}
