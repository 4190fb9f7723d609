import { z } from "zod";

/**
 * What the output of a relative-depth network means: `relative-depth` grows with distance,
 * `relative-inverse-depth` (disparity-like) shrinks with it. Both are known only up to an
 * affine map, fitted in inverse depth.
 */
export const OUTPUT_KINDS = ["relative-depth", "relative-inverse-depth"] as const;

export const ModelSpecSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, "model name: lower case, digits, '.', '-'"),
  /** Higher wins when several models are available. */
  priority: z.number().int(),
  /** File name in a models directory. */
  file: z.string().regex(/^[\w.-]+\.onnx$/, "model file: a plain *.onnx name"),
  /** Exact size when known (checked before hashing); null when only the hash is published. */
  bytes: z.number().int().positive().nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Where the pull script downloads it from; null when it is only distributed beside the repo. */
  url: z.url().nullable(),
  license: z.string(),
  input: z.object({
    /** Tensor name; null: the session's first input. */
    name: z.string().nullable(),
    /** Each side is resized to a multiple of this. */
    multiple: z.number().int().positive(),
    /** Target size: the long side (or short side) scaled to this before rounding to `multiple`. */
    longSide: z.number().int().positive().optional(),
    shortSide: z.number().int().positive().optional(),
    /** How a side is brought to a multiple: down (a model trained at one size, e.g. pydnet-pp's
     * 448×640, degrades badly when a side grows past it) or to the nearest. */
    rounding: z.enum(["floor", "nearest"]).default("nearest"),
    /** Per-channel normalisation of RGB in [0, 1]; null: used as is. */
    mean: z.tuple([z.number(), z.number(), z.number()]).nullable(),
    std: z.tuple([z.number(), z.number(), z.number()]).nullable(),
  }),
  output: z.object({
    name: z.string().nullable(),
    kind: z.enum(OUTPUT_KINDS),
  }),
});

export const RegistrySchema = z.object({ models: z.array(ModelSpecSchema).min(1) });

export type ModelSpec = z.infer<typeof ModelSpecSchema>;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

/** Network input size for an image: aspect kept, each side a multiple of `input.multiple`. */
export function modelInputSize(
  spec: ModelSpec,
  width: number,
  height: number,
): { width: number; height: number } {
  const { multiple, longSide, shortSide, rounding } = spec.input;
  const f = longSide
    ? longSide / Math.max(width, height)
    : shortSide
      ? shortSide / Math.min(width, height)
      : 1;
  const snap = rounding === "floor" ? Math.floor : Math.round;
  const round = (v: number) => Math.max(multiple, snap((v * f) / multiple) * multiple);
  return { width: round(width), height: round(height) };
}

/**
 * Converts a network output to relative inverse depth (larger = nearer), the space in which
 * the prior is aligned to depth from focus.
 */
export function toRelativeInverseDepth(values: Float32Array, kind: OutputKind): Float32Array {
  if (kind === "relative-inverse-depth") return values;
  // Relative depth: 1/x, with non-positive values (no depth) mapped from a small positive floor.
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  const floor = Math.max(max * 1e-4, 1e-12);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = 1 / Math.max(values[i]!, floor);
  return out;
}
