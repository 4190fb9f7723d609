import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The glibc malloc-arena limit the GPU service's container runs with: the default that
 * infra/gpu-service/entrypoint.sh sets, read from the script so the memory benches measure what
 * ships.
 */
export function serviceArenas(): string {
  const entrypoint = readFileSync(
    fileURLToPath(new URL("../infra/gpu-service/entrypoint.sh", import.meta.url)),
    "utf8",
  );
  const arenas = /MALLOC_ARENA_MAX="\$\{MALLOC_ARENA_MAX:-(\d+)\}"/.exec(entrypoint)?.[1];
  if (!arenas) throw new Error("infra/gpu-service/entrypoint.sh no longer sets MALLOC_ARENA_MAX");
  return arenas;
}
