import { createHash } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HybridDepthError } from "#shared/errors.ts";
import { type ModelSpec, RegistrySchema } from "#shared/models/registry.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
export const REGISTRY_FILE = join(HERE, "..", "..", "models", "registry.json");
const REPO_ROOT = join(HERE, "..", "..", "..");

/** Where pulled models live: $MODELS_DIR, else ~/.cache/hybriddepth/models. */
export function modelsCacheDir(): string {
  return process.env.MODELS_DIR
    ? resolve(process.env.MODELS_DIR)
    : join(homedir(), ".cache", "hybriddepth", "models");
}

/**
 * Folders searched for model files, in order: $MODELS_PATH (colon-separated) when set, else the
 * cache, then ../shared/models beside the checkout.
 */
export function modelSearchDirs(): string[] {
  const path = process.env.MODELS_PATH;
  if (path !== undefined)
    return path
      .split(":")
      .filter(Boolean)
      .map((d) => resolve(d));
  return [modelsCacheDir(), join(REPO_ROOT, "..", "shared", "models")];
}

let registry: ModelSpec[] | undefined;

export async function loadRegistry(file = REGISTRY_FILE): Promise<ModelSpec[]> {
  if (file === REGISTRY_FILE && registry) return registry;
  const specs = RegistrySchema.parse(JSON.parse(await readFile(file, "utf8"))).models;
  if (file === REGISTRY_FILE) registry = specs;
  return specs;
}

/** A file that could be this model: present, and of the published size when one is known. */
function candidate(spec: ModelSpec, path: string): boolean {
  if (!existsSync(path)) return false;
  return spec.bytes === null || statSync(path).size === spec.bytes;
}

export function findModelFile(spec: ModelSpec, dirs = modelSearchDirs()): string | undefined {
  return dirs.map((d) => join(d, spec.file)).find((p) => candidate(spec, p));
}

export interface ResolvedModel {
  spec: ModelSpec;
  path: string;
}

/**
 * The model to run: the one named (registry name, or a path to a registry model's file), or
 * else the highest-priority model found on disk; undefined when none is.
 */
export async function resolveModel(
  request?: string,
  dirs = modelSearchDirs(),
): Promise<ResolvedModel | undefined> {
  const specs = await loadRegistry();
  if (!request) {
    const found = [...specs]
      .sort((a, b) => b.priority - a.priority)
      .map((spec) => ({ spec, path: findModelFile(spec, dirs) }));
    const best = found.find((f) => f.path);
    return best ? { spec: best.spec, path: best.path! } : undefined;
  }
  const byName = specs.find((s) => s.name === request);
  if (byName) {
    const path = findModelFile(byName, dirs);
    if (!path) {
      throw new HybridDepthError(
        "MODEL_NOT_FOUND",
        `model ${request} is not in ${dirs.join(" or ")}; run npm run models:pull -- ${request}`,
      );
    }
    return { spec: byName, path };
  }
  if (request.endsWith(".onnx") || request.includes("/")) {
    const path = resolve(request);
    const spec = specs.find((s) => s.file === basename(path));
    if (!existsSync(path))
      throw new HybridDepthError("MODEL_NOT_FOUND", `${request}: no such model file`);
    if (!spec) {
      throw new HybridDepthError(
        "MODEL_NOT_FOUND",
        `${request}: not a registry model file (known: ${specs.map((s) => s.file).join(", ")})`,
      );
    }
    return { spec, path };
  }
  throw new HybridDepthError(
    "MODEL_NOT_FOUND",
    `unknown model "${request}" (known: ${specs.map((s) => s.name).join(", ")})`,
  );
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
