import { Command, CommanderError } from "commander";
import { HybridDepthError } from "#shared/errors.ts";
import { PIPELINE_VERSION } from "#shared/pipeline/version.ts";
import { evalCommand } from "./commands/eval.ts";
import { fuseCommand } from "./commands/fuse.ts";
import { modelsCommand } from "./commands/models.ts";
import { synthCommand } from "./commands/synth.ts";

export function buildProgram(): Command {
  return new Command("hybriddepth")
    .description("metric depth from focal stacks (HybridDepth)")
    .version(PIPELINE_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .addCommand(fuseCommand())
    .addCommand(synthCommand())
    .addCommand(evalCommand())
    .addCommand(modelsCommand())
    .exitOverride();
}

/** Runs the CLI; returns the exit code (errors print one line to stderr). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  // Every (sub)command throws instead of exiting, so main() owns the exit code.
  const override = (c: Command): void => {
    for (const sub of c.commands) override(sub.exitOverride());
  };
  override(program);
  try {
    await program.parseAsync(argv as string[], { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed the message (or help/version, which exit 0).
      return e.exitCode;
    }
    if (e instanceof HybridDepthError) {
      process.stderr.write(`hybriddepth: ${e.code}: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`hybriddepth: error: ${(e as Error)?.message ?? String(e)}\n`);
    if (process.env.DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
    return 1;
  }
}
