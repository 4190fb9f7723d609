import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A free loopback port (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface EdgeWorker {
  url: string;
  port: number;
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * The edge worker in real `wrangler dev` (workerd, local R2 / Durable Objects / Queues, state in
 * a temp dir), on a loopback port, with `vars` (secrets included) passed as --var.
 */
export async function startEdgeWorker(
  vars: Record<string, string>,
  opts: { persistTo?: string; port?: number } = {},
): Promise<EdgeWorker> {
  const port = opts.port ?? (await freePort());
  const persist = opts.persistTo ?? (await mkdtemp(join(tmpdir(), "hd-edge-")));
  const args = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persist];
  args.push("--inspector-port", String(await freePort()), "--show-interactive-dev-session=false");
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  let output = "";
  const child: ChildProcess = spawn(join(process.cwd(), "node_modules/.bin/wrangler"), args, {
    cwd: process.cwd(),
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => {
    output += d;
  });
  child.stderr!.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/v1/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`wrangler dev did not become ready in 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    log: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (!opts.persistTo) await rm(persist, { recursive: true, force: true });
    },
  };
}
