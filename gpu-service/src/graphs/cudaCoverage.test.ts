import { describe, expect, it } from "vitest";
import { everyGraph } from "./allGraphs.ts";
import { GRAPH_OPSET } from "./builder.ts";
import { CUDA_KERNEL_SOURCE, opsWithoutCudaKernel, rangeCovers } from "./cudaCoverage.ts";

describe("CUDA readiness of the fusion graphs", () => {
  it("reads OperatorKernels.md's opset cells", () => {
    expect(rangeCovers("13+", 17)).toBe(true);
    expect(rangeCovers("13+", 12)).toBe(false);
    expect(rangeCovers("[13, 17]", 17)).toBe(true);
    expect(rangeCovers("[13, 16]", 17)).toBe(false);
    expect(rangeCovers("17", 17)).toBe(true);
    expect(rangeCovers("12", 17)).toBe(false);
  });

  it("flags an op without a CUDA kernel at the opset", () => {
    // Pad's CUDA kernels: 18+, [13, 17], …: at opset 17 it has one; an op not in the table has none.
    expect(opsWithoutCudaKernel(["Pad", "Col2Im"], 17)).toEqual(["Col2Im"]);
    expect(opsWithoutCudaKernel(["Pow"], 14)).toEqual([]);
    expect(opsWithoutCudaKernel(["GridSample"], 15)).toEqual(["GridSample"]);
  });

  it(`every op of every generated graph has a CUDA kernel at opset ${GRAPH_OPSET}`, () => {
    expect(CUDA_KERNEL_SOURCE.commit).toMatch(/^[0-9a-f]{40}$/);
    for (const [name, graph] of Object.entries(everyGraph())) {
      expect(graph.ops.size, name).toBeGreaterThan(0);
      expect(opsWithoutCudaKernel(graph.ops, GRAPH_OPSET), name).toEqual([]);
    }
  });
});
