/**
 * Local processes of the product for the one-command stack, the end-to-end suites and the
 * benchmarks: the edge worker in `wrangler dev` and the GPU service, on loopback ports.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
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
  const args = [
    "dev",
    "--config",
    join(process.cwd(), "wrangler.toml"),
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    persist,
  ];
  args.push("--inspector-port", String(await freePort()), "--show-interactive-dev-session=false");
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const proc = await startProcess(
    join(process.cwd(), "node_modules/.bin/wrangler"),
    args,
    { WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
    `http://127.0.0.1:${port}/v1/health`,
    60_000,
  );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log: proc.log,
    async stop() {
      await proc.signal("SIGTERM", 5000);
      if (!opts.persistTo) await rm(persist, { recursive: true, force: true });
    },
  };
}

/** `stop` is SIGTERM: the service drains in-flight jobs, then exits. */
export interface GpuService extends EdgeWorker {
  /** SIGKILL: a crash, mid-job if one runs. */
  kill: () => Promise<void>;
}

/** The GPU service (`npm run gpu-service`) as a child process on a loopback port, ready when this resolves. */
export async function startGpuService(
  env: Record<string, string>,
  opts: { port?: number; readyTimeoutMs?: number } = {},
): Promise<GpuService> {
  const port = opts.port ?? (await freePort());
  // A job-id ledger of its own unless one is given (a restart on the same one), so job ids of
  // one run or suite never meet another's answers.
  const ownLedger = env.JOB_LEDGER_DIR
    ? undefined
    : await mkdtemp(join(tmpdir(), "hybriddepth-jobs-"));
  const proc = await startProcess(
    process.execPath,
    [join(process.cwd(), "bin/gpu-service.mjs")],
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      ...(ownLedger ? { JOB_LEDGER_DIR: ownLedger } : {}),
      ...env,
    },
    `http://127.0.0.1:${port}/v2/health/ready`,
    opts.readyTimeoutMs ?? 120_000,
  );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log: proc.log,
    stop: async () => {
      await proc.signal("SIGTERM");
      if (ownLedger) await rm(ownLedger, { recursive: true, force: true });
    },
    kill: () => proc.signal("SIGKILL"),
  };
}

interface Process {
  /** The last 200 kB of its stdout and stderr. */
  log: () => string;
  /** Sends `sig` and waits for the exit; SIGKILL after `escalateAfterMs` when given. */
  signal: (sig: NodeJS.Signals, escalateAfterMs?: number) => Promise<void>;
}

/** A child process from the repo root, resolved once `readyUrl` answers 2xx. */
async function startProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  readyUrl: string,
  timeoutMs: number,
): Promise<Process> {
  let output = "";
  const child = spawn(command, args, {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (d: Buffer) => {
    output = (output + d).slice(-200_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitFor(readyUrl, child, () => output, timeoutMs);
  return {
    log: () => output,
    async signal(sig, escalateAfterMs) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(sig);
      const timer = escalateAfterMs
        ? setTimeout(() => child.kill("SIGKILL"), escalateAfterMs)
        : undefined;
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitFor(
  url: string,
  child: ChildProcess,
  log: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${url}: process exited (${child.exitCode}):\n${log()}`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${url} not ready in ${timeoutMs / 1000} s:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface LocalStack {
  edge: EdgeWorker;
  gpu: GpuService;
  apiKey: string;
  secrets: Record<string, string>;
  /** Starts the GPU service again on the same port (after stop or kill). */
  restartGpu: () => Promise<GpuService>;
  /** Restarts wrangler dev on the same port and state directory. */
  restartEdge: () => Promise<EdgeWorker>;
  stop: () => Promise<void>;
}

const randomSecret = () => randomBytes(24).toString("hex");

/**
 * The whole product on loopback: the GPU service on CPU and the edge worker in wrangler dev,
 * wired with freshly generated secrets. `gpuEnv` and `edgeVars` override settings.
 */
export async function startLocalStack(
  opts: {
    gpuEnv?: Record<string, string>;
    edgeVars?: Record<string, string>;
    edgePort?: number;
    gpuPort?: number;
    apiKey?: string;
  } = {},
): Promise<LocalStack> {
  const secrets = {
    GPU_SERVICE_SECRET: randomSecret(),
    UPLOAD_SIGNING_KEY: randomSecret(),
    DEV_API_KEY: opts.apiKey ?? randomSecret(),
  };
  const gpuPort = opts.gpuPort ?? (await freePort());
  // One job-id ledger for the stack, kept across GPU service restarts (as a volume would be).
  const jobLedger = await mkdtemp(join(tmpdir(), "hd-stack-jobs-"));
  const gpuEnv = {
    GPU_SERVICE_SECRET: secrets.GPU_SERVICE_SECRET,
    LOG_LEVEL: "warn",
    JOB_LEDGER_DIR: jobLedger,
    ...opts.gpuEnv,
  };
  const persistTo = await mkdtemp(join(tmpdir(), "hd-stack-"));
  const edgeVars = { ...secrets, GPU_SERVICE_URL: `http://127.0.0.1:${gpuPort}`, ...opts.edgeVars };
  const edgePort = opts.edgePort ?? (await freePort());
  const [gpu0, edge0] = await Promise.all([
    startGpuService(gpuEnv, { port: gpuPort }),
    startEdgeWorker(edgeVars, { persistTo, port: edgePort }),
  ]);
  const stack: LocalStack = {
    edge: edge0,
    gpu: gpu0,
    apiKey: secrets.DEV_API_KEY,
    secrets,
    async restartGpu() {
      await stack.gpu.kill();
      stack.gpu = await startGpuService(gpuEnv, { port: gpuPort });
      return stack.gpu;
    },
    async restartEdge() {
      await stack.edge.stop();
      stack.edge = await startEdgeWorker(edgeVars, { persistTo, port: edgePort });
      return stack.edge;
    },
    async stop() {
      await Promise.all([stack.edge.stop(), stack.gpu.stop()]);
      await rm(persistTo, { recursive: true, force: true });
      await rm(jobLedger, { recursive: true, force: true });
    },
  };
  return stack;
}
