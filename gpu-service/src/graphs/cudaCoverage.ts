import table from "./cudaKernels.json" with { type: "json" };

/** Whether one of OperatorKernels.md's opset cells ("13+", "[6, 12]", "12") covers `opset`. */
export function rangeCovers(cell: string, opset: number): boolean {
  const open = /^(\d+)\+$/.exec(cell);
  if (open) return opset >= Number(open[1]);
  const closed = /^\[(\d+), (\d+)\]$/.exec(cell);
  if (closed) return opset >= Number(closed[1]) && opset <= Number(closed[2]);
  return /^\d+$/.test(cell) && Number(cell) === opset;
}

const RANGES: Record<string, readonly string[] | undefined> = table.opsetRanges;

/** The ops that onnxruntime's CUDA provider has no float kernel for at `opset` (per the extract). */
export function opsWithoutCudaKernel(ops: Iterable<string>, opset: number): string[] {
  return [...ops].filter((op) => !(RANGES[op] ?? []).some((cell) => rangeCovers(cell, opset)));
}

export const CUDA_KERNEL_SOURCE = table.source;
