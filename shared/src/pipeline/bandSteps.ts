/**
 * A computation staged as row-band steps: a generator yields each step that splits into row
 * bands (a pure function over rows [y0, y1) of plain data) and does the small serial parts
 * itself between them. Run inline here (`runStepsInline`), or with each step's bands spread
 * over threads (`runStepsInBands` in rowBands.ts): one description, the same bits either way.
 */
export interface BandStep {
  run: (args: never, y0: number, y1: number) => void;
  args: unknown;
  rows: number;
}

/** A step of `run` over rows [0, rows), its arguments type-checked against it. */
export function bandStep<A>(
  run: (args: A, y0: number, y1: number) => void,
  args: A,
  rows: number,
): BandStep {
  return { run: run as BandStep["run"], args, rows };
}

export type BandSteps<T> = Generator<BandStep, T, void>;

/** Runs every step here, each over all its rows at once. */
export function runStepsInline<T>(steps: BandSteps<T>): T {
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    const { run, args, rows } = r.value;
    (run as (a: unknown, y0: number, y1: number) => void)(args, 0, rows);
  }
}

/** Plain planes, for steps that run on this thread only. */
export const plainAlloc = (length: number): Float32Array => new Float32Array(length);
