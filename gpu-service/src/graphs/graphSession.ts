import { randomUUID } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { type Provider, requestedProviders } from "../prior/priorRunner.ts";
import { openSession } from "../prior/priorSession.ts";
import type { BuiltGraph } from "./builder.ts";

/** A fixed-shape tensor handed to a graph: float32, or decoded 8- or 16-bit samples. */
export interface GraphTensor {
  data: Float32Array | Uint8Array | Uint16Array;
  dims: readonly number[];
}

/** A stage's output and where it ran: "js" (the reference) or its graph's provider. */
export interface StageRun {
  data: Float32Array;
  ranOn: string;
}

interface CachedGraph {
  session: ort.InferenceSession;
  provider: Provider;
  ops: ReadonlySet<string>;
}

/**
 * "extended", not "all": the CPU provider's layout pass (NCHWc) would pad our one-channel
 * planes to 8–16 channels for Conv (measured ~10× slower at 640×480); CUDA has no such pass.
 * No memory pattern: with it each session plans one block for all of a run's intermediates per
 * shape and keeps it; without, they come from the arena as each node needs them, freed chunks
 * reused. The 12 MP stack with 2 jobs in flight peaked 150–250 MiB lower (1617–1866 MiB against
 * 1870–2002, three alternating runs of bench/memory.bench.ts), its refinement graph took as long
 * (152–200 ms against 186–208), and 640×480 fusion stayed within run-to-run noise.
 */
const GRAPH_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: "extended",
  enableMemPattern: false,
};

/** Sessions by graph key (stage + shape + parameters); a few shapes per process at most. */
const cache = new Map<string, Promise<CachedGraph>>();
const MAX_CACHED_GRAPHS = 32;

/**
 * The session for one generated graph, built on first use and reused: on the providers the prior
 * is given (HYBRIDDEPTH_PROVIDERS), so the fusion runs wherever the prior does.
 */
export function graphSession(
  key: string,
  build: () => BuiltGraph,
  providers: Provider[] = requestedProviders(),
): Promise<CachedGraph> {
  const k = `${key}|${providers.join(",")}`;
  let p = cache.get(k);
  if (p) {
    // Most recently used last: the first key is the one to evict.
    cache.delete(k);
    cache.set(k, p);
    return p;
  }
  p = (async () => {
    const graph = build();
    // On a pool thread the pool is the parallelism: one intra-op thread per session there.
    const { session, provider } = await openSession(graph.bytes, providers, {
      ...GRAPH_SESSION_OPTIONS,
      ...(isMainThread ? {} : { intraOpNumThreads: 1 }),
    });
    return { session, provider, ops: graph.ops };
  })();
  cache.set(k, p);
  p.catch(() => cache.delete(k));
  if (cache.size > MAX_CACHED_GRAPHS) {
    const [oldKey, old] = cache.entries().next().value!;
    cache.delete(oldKey);
    old.then((g) => g.session.release()).catch(() => {});
  }
  return p;
}

function feedsOf(inputs: Record<string, GraphTensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, { data, dims }]) => [
      name,
      data instanceof Float32Array
        ? new ort.Tensor("float32", data, dims)
        : data instanceof Uint16Array
          ? new ort.Tensor("uint16", data, dims)
          : new ort.Tensor("uint8", data, dims),
    ]),
  );
}

/**
 * Host↔device traffic of the graph runs on this thread: onnxruntime-node takes every input from
 * host memory and hands every output back there (no device-resident tensors between runs), so on
 * CUDA each run copies its inputs up and its outputs down. Counted on every provider alike.
 */
export interface GraphTransfers {
  runs: number;
  /** Bytes of every input tensor. */
  upload: number;
  /** Bytes of every output tensor. */
  download: number;
  /** Upload + download per graph (the cache key's stage name, before its first ":"). */
  byGraph: Record<string, number>;
}

const transfers: GraphTransfers = { runs: 0, upload: 0, download: 0, byGraph: {} };

/** This thread's totals since the last reset (a copy). */
export function graphTransfers(): GraphTransfers {
  return { ...transfers, byGraph: { ...transfers.byGraph } };
}

export function resetGraphTransfers(): void {
  transfers.runs = 0;
  transfers.upload = 0;
  transfers.download = 0;
  transfers.byGraph = {};
}

/**
 * Runs a cached graph: `GraphTensor` inputs in, every output out (copied off the tensors): float32
 * ones in `outputs`, boolean ones (`outputMask`) as 0/1 bytes in `masks`.
 */
export async function runGraph(
  key: string,
  build: () => BuiltGraph,
  inputs: Record<string, GraphTensor>,
): Promise<{
  outputs: Record<string, Float32Array>;
  masks: Record<string, Uint8Array>;
  provider: Provider;
}> {
  const { session, provider } = await graphSession(key, build);
  const result = await session.run(feedsOf(inputs));
  const before = transfers.upload + transfers.download;
  transfers.runs++;
  for (const t of Object.values(inputs)) transfers.upload += t.data.byteLength;
  const outputs: Record<string, Float32Array> = {};
  const masks: Record<string, Uint8Array> = {};
  for (const [name, t] of Object.entries(result)) {
    const data = t.data as Float32Array | Uint8Array;
    transfers.download += data.byteLength;
    // slice(): a native copy (`from` iterates and boxes every element).
    if (t.type === "bool") masks[name] = (data as Uint8Array).slice();
    else outputs[name] = (data as Float32Array).slice();
    t.dispose();
  }
  const graph = key.split(":")[0]!;
  transfers.byGraph[graph] =
    (transfers.byGraph[graph] ?? 0) + transfers.upload + transfers.download - before;
  return { outputs, masks, provider };
}

export interface GraphProfile {
  provider: Provider;
  /** Each node's execution provider, from onnxruntime's profile. */
  placement: Record<string, string>;
  /** Bytes of every node output plus the inputs: device memory if nothing were reused. */
  tensorBytes: number;
}

/**
 * One profiled run of a graph in a session of its own (onnxruntime-node has no API for node
 * placement; its profile names each node's provider), the profile file read and removed.
 */
export async function profileGraph(
  build: () => BuiltGraph,
  inputs: Record<string, GraphTensor>,
  providers: Provider[] = requestedProviders(),
): Promise<GraphProfile> {
  const dir = tmpdir();
  const prefix = `hybriddepth-graph-${randomUUID()}`;
  const { session, provider } = await openSession(build().bytes, providers, {
    ...GRAPH_SESSION_OPTIONS,
    enableProfiling: true,
    profileFilePrefix: join(dir, prefix),
  });
  try {
    const result = await session.run(feedsOf(inputs));
    for (const t of Object.values(result)) t.dispose();
    session.endProfiling();
  } finally {
    await session.release();
  }
  const files = (await readdir(dir)).filter((f) => f.startsWith(prefix));
  const placement: Record<string, string> = {};
  let tensorBytes = Object.values(inputs).reduce((s, t) => s + t.data.byteLength, 0);
  for (const f of files) {
    const events = JSON.parse(await readFile(join(dir, f), "utf8")) as ProfileEvent[];
    for (const e of events) {
      if (e.cat !== "Node" || !e.args?.provider || !e.name.endsWith("_kernel_time")) continue;
      placement[e.name.slice(0, -"_kernel_time".length)] = e.args.provider;
      tensorBytes += Number(e.args.output_size ?? 0);
    }
    await rm(join(dir, f), { force: true });
  }
  return { provider, placement, tensorBytes };
}

interface ProfileEvent {
  cat: string;
  name: string;
  args?: { provider?: string; output_size?: string };
}
