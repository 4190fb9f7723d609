import * as ort from "onnxruntime-node";
import type { Provider } from "./priorRunner.ts";

/** A tensor as the prior's session takes and gives it (its data moved between threads, not copied). */
export interface WireTensor {
  type: "float32" | "float16";
  data: Float32Array | Uint16Array;
  dims: number[];
}

/** What a prior's session says of itself once open. */
export interface SessionDescription {
  provider: Provider;
  inputNames: string[];
  outputNames: string[];
  /** Each input's element type and shape (a symbolic dimension is its name). */
  inputs: { name: string; type?: string; shape?: (number | string)[] }[];
}

/** A prior's onnxruntime session, on this thread or on one of its own (priorThread.ts). */
export interface PriorSession extends SessionDescription {
  /** One run; the feeds' data may be moved to another thread (not to be used after). */
  run(feeds: Record<string, WireTensor>): Promise<Record<string, WireTensor>>;
}

/**
 * A session on the first provider that loads, and which one it was: ORT falls back silently
 * when a provider cannot load, so each is tried in turn. The prior and the fusion graphs share it.
 */
export async function openSession(
  model: string | Uint8Array,
  providers: Provider[],
  options:
    | ort.InferenceSession.SessionOptions
    | ((provider: Provider) => ort.InferenceSession.SessionOptions) = {},
): Promise<{ session: ort.InferenceSession; provider: Provider }> {
  let lastError: unknown;
  for (const p of providers.length ? providers : (["cpu"] as Provider[])) {
    try {
      const asked = typeof options === "function" ? options(p) : options;
      const opts = { graphOptimizationLevel: "all" as const, ...asked, executionProviders: [p] };
      const session =
        typeof model === "string"
          ? await ort.InferenceSession.create(model, opts)
          : await ort.InferenceSession.create(model, opts);
      return { session, provider: p };
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

export type SessionOptionsFor = (provider: Provider) => ort.InferenceSession.SessionOptions;

/** Opens the model here: onnxruntime runs it synchronously on this thread. */
export async function openHere(
  path: string,
  providers: Provider[],
  options: SessionOptionsFor,
): Promise<PriorSession> {
  const { session, provider } = await openSession(path, providers, options);
  return {
    ...describeSession(session, provider),
    run: async (feeds) => fromResult(await session.run(toFeeds(feeds))).outputs,
  };
}

export function describeSession(s: ort.InferenceSession, provider: Provider): SessionDescription {
  return {
    provider,
    inputNames: [...s.inputNames],
    outputNames: [...s.outputNames],
    inputs: s.inputMetadata.map((meta) =>
      meta.isTensor
        ? { name: meta.name, type: meta.type, shape: [...meta.shape] }
        : { name: meta.name },
    ),
  };
}

export function toFeeds(feeds: Record<string, WireTensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => [
      name,
      t.type === "float16"
        ? new ort.Tensor("float16", t.data as Uint16Array, t.dims)
        : new ort.Tensor("float32", t.data as Float32Array, t.dims),
    ]),
  );
}

/**
 * A run's float outputs copied out of onnxruntime's buffers (released with their tensors), and
 * those copies' buffers to move. No prior's depth comes as anything but floats.
 */
export function fromResult(result: ort.InferenceSession.OnnxValueMapType): {
  outputs: Record<string, WireTensor>;
  transfer: ArrayBuffer[];
} {
  const outputs: Record<string, WireTensor> = {};
  const transfer: ArrayBuffer[] = [];
  for (const [name, t] of Object.entries(result)) {
    const { type } = t;
    if (type === "float32" || type === "float16") {
      const data = (t.data as Float32Array | Uint16Array).slice(); // a native copy
      outputs[name] = { type, data, dims: [...t.dims] };
      transfer.push(data.buffer as ArrayBuffer);
    }
    t.dispose();
  }
  return { outputs, transfer };
}
