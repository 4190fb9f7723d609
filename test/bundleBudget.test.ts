import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { bundlePageScript, PAGE_SCRIPTS } from "../scripts/buildPageScripts.ts";
import { ROOT } from "./helpers/sharedData.ts";

// Byte budgets: the capture page's script (SDK included) must stay light on a phone's uplink,
// and the worker bundle within what deploys start fast. The figures are printed every run.
const PAGE_SCRIPT_GZIP_BUDGET = 100 * 1024;
const WORKER_GZIP_BUDGET = 256 * 1024; // 194 KiB when set (1033 KiB raw, the capture script included)

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

describe("byte budgets", () => {
  it("each page script is at most 100 KiB gzipped, SDK included", async () => {
    for (const [name, entry] of Object.entries(PAGE_SCRIPTS)) {
      const js = await bundlePageScript(entry);
      const gz = gzipSync(js, { level: 9 }).byteLength;
      console.log(`${name} (${entry}): ${kib(js.length)} minified, ${kib(gz)} gzipped`);
      expect(gz).toBeLessThanOrEqual(PAGE_SCRIPT_GZIP_BUDGET);
      // zod's full build must not reach the browser (the SDK uses types only).
      expect(js).not.toMatch(/ZodError|\$ZodType/);
    }
  });

  it("the worker bundle (wrangler's own dry-run build) stays within its budget", async () => {
    const out = await mkdtemp(join(tmpdir(), "hd-bundle-"));
    try {
      await promisify(execFile)(
        join(ROOT, "node_modules/.bin/wrangler"),
        ["deploy", "--dry-run", "--outdir", out, "--config", join(ROOT, "wrangler.toml")],
        { cwd: ROOT, timeout: 120_000 },
      );
      const files = (await readdir(out)).filter((f) => f.endsWith(".js"));
      const bytes = Buffer.concat(await Promise.all(files.map((f) => readFile(join(out, f)))));
      const gz = gzipSync(bytes, { level: 9 }).byteLength;
      console.log(`worker bundle (${files.join(", ")}): ${kib(bytes.length)}, ${kib(gz)} gzipped`);
      expect(gz).toBeLessThanOrEqual(WORKER_GZIP_BUDGET);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 180_000);
});
