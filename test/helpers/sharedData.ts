import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** `../shared/data` beside the checkout: real captures and RGB-D, present on dev machines and CI. */
export const SHARED_DATA = join(ROOT, "..", "shared", "data");

export const hasSharedData = (sub: string): boolean => existsSync(join(SHARED_DATA, sub));

export const BUNDLED_SAMPLE = join(ROOT, "samples", "redwood-00000");

/** `../shared/models`: the real ONNX weights we have here (pydnet-pp). */
export const SHARED_MODELS = join(ROOT, "..", "shared", "models");

export const hasSharedModels = existsSync(join(SHARED_MODELS, "pydnet-pp.onnx"));
