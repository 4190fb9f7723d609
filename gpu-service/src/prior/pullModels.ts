import { createWriteStream } from "node:fs";
import { copyFile, mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { SingleBar } from "cli-progress";
import { fetch } from "undici";
import { HybridDepthError } from "#shared/errors.ts";
import type { ModelSpec } from "#shared/models/registry.ts";
import { loadRegistry, modelSearchDirs, modelsCacheDir, sha256File } from "./modelStore.ts";

export type PullOutcome = "cached" | "copied" | "downloaded";

export interface PullOptions {
  /** Show a progress bar on this stream (a TTY). */
  progress?: NodeJS.WriteStream;
  fetchImpl?: typeof fetch;
}

/**
 * Puts a registry model into the cache, verified by sha256 (and size when published): already
 * there → nothing; in ../shared/models → copied; else downloaded from its URL, resuming a
 * partial download with an HTTP Range request.
 */
export async function pullModel(
  spec: ModelSpec,
  options: PullOptions = {},
): Promise<{ outcome: PullOutcome; path: string }> {
  const dir = modelsCacheDir();
  await mkdir(dir, { recursive: true });
  const dest = join(dir, spec.file);
  if (await verified(spec, dest)) return { outcome: "cached", path: dest };

  for (const other of modelSearchDirs().filter((d) => d !== dir)) {
    const src = join(other, spec.file);
    if (await verified(spec, src)) {
      await copyFile(src, `${dest}.part`);
      await rename(`${dest}.part`, dest);
      return { outcome: "copied", path: dest };
    }
  }
  if (!spec.url) {
    throw new HybridDepthError(
      "MODEL_NOT_FOUND",
      `${spec.name}: not in ${modelSearchDirs().join(" or ")} and has no download URL`,
    );
  }
  await download(spec, spec.url, `${dest}.part`, options);
  if (!(await verified(spec, `${dest}.part`))) {
    await rm(`${dest}.part`, { force: true });
    throw new HybridDepthError(
      "MODEL_NOT_FOUND",
      `${spec.name}: downloaded file failed its sha256 check; removed`,
    );
  }
  await rename(`${dest}.part`, dest);
  return { outcome: "downloaded", path: dest };
}

async function verified(spec: ModelSpec, path: string): Promise<boolean> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isFile() || (spec.bytes !== null && s.size !== spec.bytes)) return false;
  return (await sha256File(path)) === spec.sha256;
}

async function download(
  spec: ModelSpec,
  url: string,
  part: string,
  options: PullOptions,
): Promise<void> {
  const have = (await stat(part).catch(() => undefined))?.size ?? 0;
  const doFetch = options.fetchImpl ?? fetch;
  let res: Awaited<ReturnType<typeof fetch>>;
  try {
    res = await doFetch(url, {
      headers: have > 0 ? { range: `bytes=${have}-` } : {},
      redirect: "follow",
    });
  } catch (e) {
    throw new HybridDepthError(
      "MODEL_NOT_FOUND",
      `${spec.name}: cannot reach ${new URL(url).host} (${(e as Error).message})`,
    );
  }
  if (!res.ok || !res.body)
    throw new HybridDepthError(
      "MODEL_NOT_FOUND",
      `${spec.name}: download answered HTTP ${res.status}`,
    );
  // 206: the server resumes where the part file ends; 200: it sends everything again.
  const resumed = res.status === 206 && have > 0;
  const length = Number(res.headers.get("content-length") ?? 0);
  const total = (resumed ? have : 0) + length;
  const bar = options.progress?.isTTY
    ? new SingleBar({
        format: `${spec.name} [{bar}] {percentage}% {value}/{total} MB`,
        stream: options.progress,
      })
    : undefined;
  let done = resumed ? have : 0;
  bar?.start(Math.round(total / 1e6) || 1, Math.round(done / 1e6));
  const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream);
  body.on("data", (chunk: Buffer) => {
    done += chunk.length;
    bar?.update(Math.round(done / 1e6));
  });
  try {
    await pipeline(body, createWriteStream(part, { flags: resumed ? "a" : "w" }));
  } finally {
    bar?.stop();
  }
}

/** Pulls the named models (all when none named). */
export async function pullModels(
  names: readonly string[],
  options: PullOptions = {},
): Promise<{ name: string; outcome?: PullOutcome; error?: string }[]> {
  const specs = await loadRegistry();
  const unknown = names.filter((n) => !specs.some((s) => s.name === n));
  if (unknown.length)
    throw new HybridDepthError(
      "MODEL_NOT_FOUND",
      `unknown model ${unknown.join(", ")} (known: ${specs.map((s) => s.name).join(", ")})`,
    );
  const chosen = names.length ? specs.filter((s) => names.includes(s.name)) : specs;
  const results = [];
  for (const spec of chosen) {
    try {
      results.push({ name: spec.name, outcome: (await pullModel(spec, options)).outcome });
    } catch (e) {
      results.push({ name: spec.name, error: (e as Error).message });
    }
  }
  return results;
}
