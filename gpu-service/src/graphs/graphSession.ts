import * as ort from "onnxruntime-node";
import { openSession, type Provider, requestedProviders } from "../prior/priorRunner.ts";
import type { BuiltGraph } from "./builder.ts";

/** A fixed-shape float32 tensor handed to or taken from a graph. */
export interface GraphTensor {
  data: Float32Array;
  dims: readonly number[];
}

interface CachedGraph {
  session: ort.InferenceSession;
  provider: Provider;
  ops: ReadonlySet<string>;
}

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
    const { session, provider } = await openSession(graph.bytes, providers);
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

/** Runs a cached graph: float32 inputs in, every output out (copied off the tensors). */
export async function runGraph(
  key: string,
  build: () => BuiltGraph,
  inputs: Record<string, GraphTensor>,
): Promise<{ outputs: Record<string, Float32Array>; provider: Provider }> {
  const { session, provider } = await graphSession(key, build);
  const feeds = Object.fromEntries(
    Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor("float32", t.data, t.dims)]),
  );
  const result = await session.run(feeds);
  const outputs: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(result)) {
    outputs[name] = Float32Array.from(t.data as Float32Array);
    t.dispose();
  }
  return { outputs, provider };
}
