import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

function tensorInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

/**
 * A tiny "depth network" for tests: output [1,1,H,W] = mean over the 3 input channels, so its
 * answer is known exactly. Written as a real ONNX model (opset 13) that onnxruntime loads.
 */
export async function writeChannelMeanModel(
  dir: string,
  file = "tiny.onnx",
  input = "image",
  output = "depth",
): Promise<string> {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: "hybriddepth-tests",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "channel_mean",
      node: [
        {
          opType: "ReduceMean",
          input: [input],
          output: [output],
          attribute: [
            { name: "axes", type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
            { name: "keepdims", type: onnx.AttributeProto.AttributeType.INT, i: 1 },
          ],
        },
      ],
      input: [tensorInfo(input, [1, 3, "height", "width"])],
      output: [tensorInfo(output, [1, 1, "height", "width"])],
    },
  });
  const path = join(dir, file);
  await writeFile(path, onnx.ModelProto.encode(model).finish());
  return path;
}
