/**
 * The entry points size libuv's threadpool (sharp's decodes and encodes run on it, one pool for
 * every thread of the process) before anything starts it: at least as many threads as the frame
 * pool, never fewer than libuv's own 4, and an operator's UV_THREADPOOL_SIZE as it is.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { libuvPoolSize } from "../bin/libuvPool.mjs";

const ROOT = join(import.meta.dirname, "..");

describe("libuv's threadpool size", () => {
  it("is the frame pool's thread count, at least 4, unless the operator set it", () => {
    expect(libuvPoolSize({})).toBe(String(Math.max(4, availableParallelism())));
    expect(libuvPoolSize({ HYBRIDDEPTH_THREADS: "16" })).toBe("16");
    expect(libuvPoolSize({ HYBRIDDEPTH_THREADS: "2" })).toBe("4");
    expect(libuvPoolSize({ HYBRIDDEPTH_THREADS: "16", UV_THREADPOOL_SIZE: "3" })).toBe("3");
    // A bad thread count is the pipeline's to refuse (with its own message); here it is no count.
    expect(libuvPoolSize({ HYBRIDDEPTH_THREADS: "two" })).toBe(
      String(Math.max(4, availableParallelism())),
    );
  });

  it("is set first thing by both entry points", () => {
    for (const bin of ["hybriddepth.mjs", "gpu-service.mjs"]) {
      const firstImport = readFileSync(join(ROOT, "bin", bin), "utf8")
        .split("\n")
        .find((l) => l.startsWith("import "));
      expect(firstImport, bin).toMatch(/^import "\.\/libuvPool\.mjs";/);
    }
    const r = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `await import(${JSON.stringify(join(ROOT, "bin", "libuvPool.mjs"))}); console.log(process.env.UV_THREADPOOL_SIZE)`,
      ],
      { encoding: "utf8", env: { PATH: process.env.PATH, HYBRIDDEPTH_THREADS: "12" } },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("12");
  });
});
