/**
 * The entry points refuse a Node outside package.json's `engines.node`, in one line, before they
 * load anything else: under Node 20 the pipeline failed with onnxruntime's bare "Invalid argument".
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { satisfies } from "../bin/nodeVersion.mjs";

const ROOT = join(import.meta.dirname, "..");
const range = (
  JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    engines: { node: string };
  }
).engines.node;

describe("the Node version check", () => {
  it("reads engines ranges of >= and < terms", () => {
    expect(satisfies("22.12.0", ">=22.12 <23")).toBe(true);
    expect(satisfies("v22.23.3", ">=22.12 <23")).toBe(true);
    expect(satisfies("22.11.9", ">=22.12 <23")).toBe(false);
    expect(satisfies("20.20.2", ">=22.12 <23")).toBe(false);
    expect(satisfies("23.0.0", ">=22.12 <23")).toBe(false);
    expect(() => satisfies("22.12.0", "^22")).toThrow(/unsupported engines term/);
    expect(satisfies(process.versions.node, range)).toBe(true);
  });

  // process.versions.node set to another version before the entry point runs.
  const as = (version: string, bin: string, args: string[]) =>
    spawnSync(
      process.execPath,
      [
        "--import",
        `data:text/javascript,Object.defineProperty(process.versions, "node", { value: "${version}" })`,
        join(ROOT, "bin", bin),
        ...args,
      ],
      { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
    );

  it.each(["hybriddepth.mjs", "gpu-service.mjs"])(
    "%s exits 1 with one line under Node 20",
    (bin) => {
      const r = as("20.20.2", bin, ["--help"]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(`needs Node ${range} (this is v20.20.2 at ${process.execPath})`);
    },
  );

  it("lets a supported Node through", () => {
    const r = as(process.versions.node, "hybriddepth.mjs", ["--help"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: hybriddepth/);
  });
});
