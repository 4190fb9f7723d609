import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, type Dispatcher, request } from "undici";
import { type ErrorKind, HybridDepthError } from "#shared/errors.ts";
import { type OriginRule, originAllowed } from "./frameOrigins.ts";

/**
 * Fetches one focal-stack frame from a URL for the GPU service: undici `request` over a shared
 * keep-alive Agent, a whole-attempt timeout, retries with jittered exponential backoff on network
 * errors, timeouts, truncated bodies and 5xx/429 answers, a byte cap (content-length first, then
 * while streaming) and an optional sha256 check. Every error names the frame and what happened,
 * and shows the URL as origin + path only (signed URLs carry secrets in the query). A URL outside
 * `origins` is never requested, and its error says nothing but that. Client errors of the frame's
 * server (404/410: not there; other 4xx, redirects) are the job's fault: 4xx, never retried.
 */

export interface FetchOptions {
  /** Whole-attempt timeout (headers + body), ms. */
  timeoutMs: number;
  /** Extra attempts after the first on network errors, timeouts and 5xx/429 answers. */
  retries: number;
  /** First backoff delay, ms; doubles each retry, with jitter (0.5x–1.5x). */
  backoffMs: number;
  /** Bytes at most; checked against content-length first and while streaming. */
  maxBytes: number;
  /** The only origins fetched from; any when absent. */
  origins?: readonly OriginRule[];
  /** Stops the fetch (the job is over): it then throws the signal's reason. */
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
}

export const DEFAULT_FETCH: FetchOptions = {
  timeoutMs: 15_000,
  retries: 3,
  backoffMs: 200,
  maxBytes: 50 * 1024 * 1024,
};

let sharedAgent: Agent | undefined;

/** The shared pooled keep-alive Agent frames are fetched with; created on first use. */
export function frameAgent(): Agent {
  sharedAgent ??= new Agent({
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    connections: 32,
    connect: { timeout: 10_000 },
  });
  return sharedAgent;
}

type Attempt =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; retry: boolean; kind: ErrorKind; what: string };

/**
 * The bytes of one frame. `name` labels the frame in every error (e.g. "frame 2 (f02.jpg)");
 * `expectedSha256` (hex), when given, must match the bytes.
 */
export async function fetchFrame(
  url: string,
  name: string,
  expectedSha256: string | undefined,
  options: Partial<FetchOptions> = {},
): Promise<Uint8Array> {
  const opts: FetchOptions = { ...DEFAULT_FETCH, ...options };
  const retries = Math.max(0, Math.floor(opts.retries));

  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HybridDepthError("FRAME_FETCH_FAILED", `${name}: the frame URL is not a valid URL`);
  }
  const shown = `${parsed.origin}${parsed.pathname}`;
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new HybridDepthError(
      "FRAME_FETCH_FAILED",
      `${name}: unsupported URL scheme "${parsed.protocol}" (only http: and https:)`,
    );
  }
  if (opts.origins && !originAllowed(parsed, opts.origins)) {
    throw new HybridDepthError(
      "FRAME_ORIGIN_REFUSED",
      `${name}: ${parsed.origin} is not an origin this service fetches frames from`,
    );
  }
  const dispatcher = opts.dispatcher ?? frameAgent();

  let attempts = 0;
  for (;;) {
    attempts++;
    opts.signal?.throwIfAborted();
    const result = await attempt(parsed, opts, dispatcher);
    opts.signal?.throwIfAborted();
    if (result.ok) {
      if (expectedSha256 !== undefined) {
        const got = createHash("sha256").update(result.bytes).digest("hex");
        const want = expectedSha256.trim().toLowerCase();
        if (got !== want) {
          throw new HybridDepthError(
            "FRAME_DIGEST_MISMATCH",
            `${name}: GET ${shown}: sha256 of the ${result.bytes.byteLength} bytes is ${got}, expected ${want}`,
          );
        }
      }
      return result.bytes;
    }
    if (!result.retry || attempts > retries) {
      const tries = attempts > 1 ? ` (after ${attempts} attempts)` : "";
      throw new HybridDepthError(
        result.kind,
        `${name}: GET ${shown}: ${redact(result.what, parsed)}${tries}`,
      );
    }
    const base = opts.backoffMs * 2 ** (attempts - 1);
    await sleep(Math.round(base * (0.5 + Math.random())), undefined, {
      ...(opts.signal ? { signal: opts.signal } : {}),
    }).catch(() => opts.signal?.throwIfAborted());
  }
}

/** One GET with its own timeout; never throws, and leaves no body unconsumed or undestroyed. */
async function attempt(url: URL, opts: FetchOptions, dispatcher: Dispatcher): Promise<Attempt> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${opts.timeoutMs} ms`));
  }, opts.timeoutMs);
  const stop = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", stop, { once: true });
  const timeout = (): Attempt => ({
    ok: false,
    retry: true,
    kind: "FRAME_FETCH_TIMEOUT",
    what: `timed out after ${opts.timeoutMs} ms`,
  });

  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: "GET",
      dispatcher,
      signal: controller.signal,
      headers: { accept: "*/*" },
    });
  } catch (e) {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", stop);
    if (timedOut) return timeout();
    return {
      ok: false,
      retry: true,
      kind: "FRAME_FETCH_FAILED",
      what: `request failed: ${describe(e)}`,
    };
  }

  const { statusCode, headers, body } = res;
  // Destroying the body early (too large, error answers) makes undici emit an abort error on it;
  // what matters is seen through the iterator or dump, so keep that one from going uncaught.
  body.on("error", () => undefined);
  try {
    if (statusCode < 200 || statusCode > 299) {
      // Drain a little so the socket can go back to the pool; dump destroys past its limit.
      await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      if (timedOut) return timeout();
      // 408 and 429 say "later"; 5xx is the server's trouble; other answers are the job's.
      const retry = statusCode >= 500 || statusCode === 429 || statusCode === 408;
      const redirect = statusCode >= 300 && statusCode < 400 ? " (redirects are not followed)" : "";
      const kind: ErrorKind = retry
        ? "FRAME_FETCH_FAILED"
        : statusCode === 404 || statusCode === 410
          ? "FRAME_NOT_FOUND"
          : statusCode >= 300 && statusCode < 500
            ? "FRAME_URL_REFUSED"
            : "FRAME_FETCH_FAILED";
      return { ok: false, retry, kind, what: `HTTP ${statusCode}${redirect}` };
    }

    const declared = contentLength(headers["content-length"]);
    if (declared !== undefined && declared > opts.maxBytes) {
      body.destroy();
      return {
        ok: false,
        retry: false,
        kind: "FRAME_BYTES_TOO_LARGE",
        what: `content-length ${declared} bytes exceeds the ${opts.maxBytes}-byte limit`,
      };
    }

    // Into one buffer of the declared size when there is one: chunks plus their concatenation
    // would hold every frame twice for a moment.
    const whole = declared !== undefined ? new Uint8Array(declared) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (whole && received + chunk.byteLength <= whole.byteLength) whole.set(chunk, received);
        else chunks.push(chunk);
        received += chunk.byteLength;
        if (received > opts.maxBytes) {
          body.destroy();
          return {
            ok: false,
            retry: false,
            kind: "FRAME_BYTES_TOO_LARGE",
            what: `body exceeds the ${opts.maxBytes}-byte limit (got ${received} bytes so far)`,
          };
        }
      }
    } catch (e) {
      if (timedOut) return timeout();
      const of = declared !== undefined ? ` of ${declared}` : "";
      return {
        ok: false,
        retry: true,
        kind: "FRAME_FETCH_FAILED",
        what: `body cut short: got ${received}${of} bytes (${describe(e)})`,
      };
    }
    if (declared !== undefined && received !== declared) {
      return {
        ok: false,
        retry: true,
        kind: "FRAME_FETCH_FAILED",
        what: `body cut short: got ${received} of ${declared} bytes`,
      };
    }
    return { ok: true, bytes: whole ?? Buffer.concat(chunks, received) };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", stop);
    if (!body.destroyed && !body.readableEnded) body.destroy();
  }
}

function contentLength(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
  return `${typeof code === "string" ? `${code} ` : ""}${e.message}${cause}`;
}

/** Keeps the URL's query and password out of a message, should an underlying error echo them. */
function redact(text: string, url: URL): string {
  let out = text.split(url.href).join(`${url.origin}${url.pathname}`);
  if (url.search.length > 1) out = out.split(url.search).join("");
  if (url.password.length > 0) out = out.split(url.password).join("***");
  return out;
}
