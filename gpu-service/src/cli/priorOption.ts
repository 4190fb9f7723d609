import { resolveModel } from "../prior/modelStore.ts";
import { loadPrior, type Prior } from "../prior/priorRunner.ts";

/** The prior for `--model` (a name or file), or the best one on disk; undefined when none is. */
export async function priorFor(stage: string, model?: string): Promise<Prior | undefined> {
  if (stage === "dff") return undefined;
  const resolved = await resolveModel(model);
  return resolved ? loadPrior(resolved) : undefined;
}
