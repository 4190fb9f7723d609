import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { decodeNpyFloat32 } from "#shared/format/npy.ts";
import { tempDir } from "../gpu-service/src/testing/fixtures.ts";
import { freePort } from "../scripts/localStack.ts";
import { ROOT } from "./helpers/sharedData.ts";

async function listening(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

// `npm start` as a newcomer runs it (README command 1), on free ports: the sample goes through
// the stack, the depth lands in --out, the preview page answers, and Ctrl-C stops everything.
it("npm start brings up the stack, fuses the sample through it, and stops cleanly on Ctrl-C", async () => {
  const [port, gpuPort] = [await freePort(), await freePort()];
  const out = await tempDir("hd-stack-out-");
  const child = spawn(
    join(ROOT, "node_modules/.bin/tsx"),
    ["scripts/stack.ts", "--port", String(port), "--gpu-port", String(gpuPort), "--out", out],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout.on("data", (d) => {
    log += d;
  });
  child.stderr.on("data", (d) => {
    log += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const deadline = Date.now() + 180_000;
  while (
    !log.includes("Ctrl-C stops everything") &&
    child.exitCode === null &&
    Date.now() < deadline
  )
    await new Promise((r) => setTimeout(r, 250));
  expect(log, log).toContain("Ctrl-C stops everything");
  expect(log).toMatch(/done in \d+ ms: 640×480/);
  expect(log).toContain(`preview page  http://127.0.0.1:${port}/`);

  const page = await fetch(`http://127.0.0.1:${port}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("<canvas");
  const result = JSON.parse(await readFile(join(out, "result.json"), "utf8"));
  const depth = decodeNpyFloat32(new Uint8Array(await readFile(join(out, "depth.npy"))));
  expect(depth.shape).toEqual([result.height, result.width]);
  expect(result.stage).toBe("full");

  child.kill("SIGINT");
  expect(await exited).toBe(0);
  expect(log).toContain("stopping");
  expect(await listening(port)).toBe(false);
  expect(await listening(gpuPort)).toBe(false);
}, 240_000);
