import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { median } from "../shared/src/math/stats.ts";

/** One measurement of a fresh process with 2 jobs in flight. */
export interface ArenaRun {
  peakMiB: number;
  /** Its RSS before the jobs. */
  baseMiB: number;
  wallS: number;
}

/** glibc's default (no MALLOC_ARENA_MAX), then the limit the service's container sets. */
export interface ArenaConfig {
  label: string;
  arenas: string | undefined;
}

/**
 * The glibc malloc-arena limit the GPU service's container runs with: the default that
 * infra/gpu-service/entrypoint.sh sets, read from the script so the memory benches measure what
 * ships.
 */
function serviceArenas(): string {
  const entrypoint = readFileSync(
    fileURLToPath(new URL("../infra/gpu-service/entrypoint.sh", import.meta.url)),
    "utf8",
  );
  const arenas = /MALLOC_ARENA_MAX="\$\{MALLOC_ARENA_MAX:-(\d+)\}"/.exec(entrypoint)?.[1];
  if (!arenas) throw new Error("infra/gpu-service/entrypoint.sh no longer sets MALLOC_ARENA_MAX");
  return arenas;
}

/**
 * `runs` measurements under each arena setting, alternately (a process's peak moves with garbage
 * collection timing, so one run each says little).
 */
export async function compareArenas<R extends ArenaRun>(
  runs: number,
  measure: (arenas: string | undefined) => R | Promise<R>,
): Promise<{ configs: ArenaConfig[]; results: R[][] }> {
  const arenas = serviceArenas();
  const configs: ArenaConfig[] = [
    { label: "glibc default arenas", arenas: undefined },
    { label: `MALLOC_ARENA_MAX=${arenas} (the service's)`, arenas },
  ];
  const results = configs.map(() => [] as R[]);
  for (let r = 0; r < runs; r++)
    for (const [c, config] of configs.entries()) results[c]!.push(await measure(config.arenas));
  return { configs, results };
}

/** Each setting's median peak (and range), base and wall time, then their ratio. */
export function reportArenas(
  { configs, results }: { configs: ArenaConfig[]; results: ArenaRun[][] },
  baseLabel: string,
  jobsLabel = "both jobs",
): void {
  const peaks = results.map((runs) => median(runs.map((m) => m.peakMiB)));
  for (const [c, config] of configs.entries()) {
    const runs = results[c]!;
    const ps = runs.map((m) => m.peakMiB);
    console.log(
      `  ${config.label.padEnd(36)} median ${peaks[c]!.toFixed(0)} MiB (${Math.min(...ps).toFixed(0)}–${Math.max(...ps).toFixed(0)}), ${median(runs.map((m) => m.baseMiB)).toFixed(0)} MiB ${baseLabel}, ${median(runs.map((m) => m.wallS)).toFixed(1)} s for ${jobsLabel}`,
    );
  }
  console.log(`  the service's ÷ glibc default: ${(peaks[1]! / peaks[0]!).toFixed(2)}`);
}
