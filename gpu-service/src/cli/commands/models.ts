import { Command } from "commander";
import { HybridDepthError } from "#shared/errors.ts";
import { findModelFile, loadRegistry, modelSearchDirs } from "../../prior/modelStore.ts";
import { pullModels } from "../../prior/pullModels.ts";

export function modelsCommand(): Command {
  const models = new Command("models").description("list and fetch the single-image depth priors");
  models
    .command("list")
    .description("registry models, best first, and where each was found")
    .action(async () => {
      const specs = [...(await loadRegistry())].sort((a, b) => b.priority - a.priority);
      for (const s of specs) {
        const path = findModelFile(s);
        process.stdout.write(
          `${s.name.padEnd(26)} ${s.output.kind.padEnd(23)} ${path ?? "not found (npm run models:pull)"}\n`,
        );
      }
      process.stdout.write(`searched: ${modelSearchDirs().join(", ")}\n`);
    });
  models
    .command("pull")
    .description("copy (from ../shared/models) or download models into the cache, sha256-checked")
    .argument("[name...]", "models to pull (default: all)")
    .option("--optional", "report failures (e.g. offline) as warnings and exit 0")
    .action(async (names: string[], o: { optional?: boolean }) => {
      const results = await pullModels(names, { progress: process.stderr });
      for (const r of results) {
        if (r.outcome) process.stdout.write(`${r.name}: ${r.outcome}\n`);
        else process.stderr.write(`${o.optional ? "warning" : "error"}: ${r.error}\n`);
      }
      const failed = results.filter((r) => r.error);
      if (failed.length && !o.optional)
        throw new HybridDepthError(
          "MODEL_NOT_FOUND",
          `${failed.length} model(s) could not be pulled`,
        );
    });
  return models;
}
