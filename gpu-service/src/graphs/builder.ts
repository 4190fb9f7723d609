import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
const Attr = onnx.AttributeProto.AttributeType;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const BOOL = onnx.TensorProto.DataType.BOOL;

/** Element types a graph input may have besides float32: decoded 8- and 16-bit samples. */
export const SAMPLE_TYPES = {
  uint8: onnx.TensorProto.DataType.UINT8,
  uint16: onnx.TensorProto.DataType.UINT16,
} as const;
export type SampleType = keyof typeof SAMPLE_TYPES;

/** Every generated graph imports this one opset: the CUDA kernel check is made against it. */
export const GRAPH_OPSET = 17;

/** A tensor in a graph under construction: its name, nothing else. */
export type Value = string & { readonly __value: unique symbol };

export type AttrValue = number | string | readonly number[] | { float: number };

export interface BuiltGraph {
  /** Serialized ModelProto, as `InferenceSession.create` takes it. */
  bytes: Uint8Array;
  /** The op types used, for the provider-coverage check. */
  ops: ReadonlySet<string>;
}

/**
 * A minimal typed builder of ONNX graphs over float32 tensors with fixed shapes (one graph per
 * input shape). Names are generated; constants become initializers.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inits: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private next = 0;

  constructor(private readonly name: string) {}

  private fresh(hint: string): Value {
    return `${hint}_${this.next++}` as Value;
  }

  input(name: string, dims: readonly number[], type?: SampleType): Value {
    this.inputs.push(valueInfo(name, dims, type ? SAMPLE_TYPES[type] : FLOAT));
    return name as Value;
  }

  output(value: Value, name: string, dims: readonly number[]): void {
    this.op("Identity", [value], {}, name);
    this.outputs.push(valueInfo(name, dims));
  }

  /** A boolean output: one byte a pixel to copy back instead of a float's four. */
  outputMask(value: Value, name: string, dims: readonly number[]): void {
    this.op("Identity", [value], {}, name);
    this.outputs.push(valueInfo(name, dims, BOOL));
  }

  /** A float32 constant of the given shape (a scalar when dims is []). */
  constant(data: ArrayLike<number> | number, dims: readonly number[] = []): Value {
    const name = this.fresh("c");
    const values = Float32Array.from(typeof data === "number" ? [data] : Array.from(data));
    // Raw little-endian bytes: large constants (per-pixel window counts) encode fast.
    const rawData = new Uint8Array(values.buffer);
    this.inits.push({ name, dataType: FLOAT, dims: [...dims], rawData });
    return name;
  }

  /** An int64 constant (shapes, axes, pads). */
  ints(values: readonly number[]): Value {
    const name = this.fresh("i");
    this.inits.push({ name, dataType: INT64, dims: [values.length], int64Data: [...values] });
    return name;
  }

  /** Adds one node; `""` as an input marks an omitted optional input. */
  op(
    type: string,
    inputs: readonly (Value | "")[],
    attrs: Record<string, AttrValue> = {},
    outputName?: string,
  ): Value {
    const out = (outputName ?? this.fresh(type.toLowerCase())) as Value;
    this.used.add(type);
    this.nodes.push({
      name: `${type}_${this.nodes.length}`,
      opType: type,
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return out;
  }

  /** A node with several outputs (Split). */
  opN(
    type: string,
    inputs: readonly (Value | "")[],
    n: number,
    attrs: Record<string, AttrValue> = {},
  ): Value[] {
    const outs = Array.from({ length: n }, () => this.fresh(type.toLowerCase()));
    this.used.add(type);
    this.nodes.push({
      name: `${type}_${this.nodes.length}`,
      opType: type,
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return outs;
  }

  build(): BuiltGraph {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "hybriddepth-graphs",
      opsetImport: [{ domain: "", version: GRAPH_OPSET }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return { bytes: onnx.ModelProto.encode(model).finish(), ops: new Set(this.used) };
  }

  // Elementwise helpers: the graphs read like the TypeScript they mirror.
  add(a: Value, b: Value): Value {
    return this.op("Add", [a, b]);
  }
  sub(a: Value, b: Value): Value {
    return this.op("Sub", [a, b]);
  }
  mul(a: Value, b: Value): Value {
    return this.op("Mul", [a, b]);
  }
  div(a: Value, b: Value): Value {
    return this.op("Div", [a, b]);
  }
  /** min ≤ x ≤ max, bounds as float scalars. */
  clip(x: Value, min: number, max: number): Value {
    return this.op("Clip", [x, this.constant(min), this.constant(max)]);
  }
  reshape(x: Value, dims: readonly number[]): Value {
    return this.op("Reshape", [x, this.ints(dims)]);
  }
}

function valueInfo(
  name: string,
  dims: readonly number[],
  elemType: number = FLOAT,
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  };
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof v === "string") return { name, type: Attr.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === "number") return { name, type: Attr.INT, i: v };
  if ("float" in v) return { name, type: Attr.FLOAT, f: v.float };
  return { name, type: Attr.INTS, ints: [...v] };
}
