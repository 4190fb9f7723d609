import { mkdir, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../testing/fixtures.ts";
import { loadRegistry, resolveModel } from "./modelStore.ts";

const saved = process.env.MODELS_PATH;
afterEach(() => {
  if (saved === undefined) delete process.env.MODELS_PATH;
  else process.env.MODELS_PATH = saved;
});

/** A folder holding files named and sized like the registry's models (contents irrelevant here). */
async function modelsDir(names: string[]): Promise<string> {
  const dir = await tempDir();
  const specs = await loadRegistry();
  for (const name of names) {
    const spec = specs.find((s) => s.name === name)!;
    const path = join(dir, spec.file);
    await writeFile(path, "");
    await truncate(path, spec.bytes ?? 1000);
  }
  return dir;
}

describe("model registry and selection", () => {
  it("the registry validates and names both priors with their output kinds", async () => {
    const specs = await loadRegistry();
    expect(specs.map((s) => [s.name, s.output.kind])).toEqual([
      ["depth-anything-v2-small", "relative-inverse-depth"],
      ["pydnet-pp", "relative-depth"],
    ]);
  });

  it("picks the best model found, and reports nothing when none is", async () => {
    const both = await modelsDir(["pydnet-pp", "depth-anything-v2-small"]);
    const onlyPydnet = await modelsDir(["pydnet-pp"]);
    process.env.MODELS_PATH = both;
    expect((await resolveModel())?.spec.name).toBe("depth-anything-v2-small");
    process.env.MODELS_PATH = `${await tempDir()}:${onlyPydnet}`;
    expect((await resolveModel())?.spec.name).toBe("pydnet-pp");
    process.env.MODELS_PATH = await tempDir();
    expect(await resolveModel()).toBeUndefined();
  });

  it("ignores a file of the wrong size (a truncated download)", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "pydnet-pp.onnx"), "partial");
    process.env.MODELS_PATH = dir;
    expect(await resolveModel()).toBeUndefined();
  });

  it("honours an explicit name or file, and explains what is missing", async () => {
    const dir = await modelsDir(["pydnet-pp", "depth-anything-v2-small"]);
    process.env.MODELS_PATH = dir;
    expect((await resolveModel("pydnet-pp"))?.spec.name).toBe("pydnet-pp");
    expect((await resolveModel(join(dir, "pydnet-pp.onnx")))?.spec.name).toBe("pydnet-pp");
    process.env.MODELS_PATH = await tempDir();
    await expect(resolveModel("pydnet-pp")).rejects.toMatchObject({
      code: "model_not_found",
      message: expect.stringContaining("npm run models:pull -- pydnet-pp"),
    });
    await expect(resolveModel("resnet")).rejects.toMatchObject({
      code: "model_not_found",
      message: expect.stringContaining("unknown model"),
    });
    const other = await tempDir();
    await mkdir(join(other, "sub"));
    await writeFile(join(other, "sub", "mine.onnx"), "x");
    await expect(resolveModel(join(other, "sub", "mine.onnx"))).rejects.toMatchObject({
      message: expect.stringContaining("not a registry model file"),
    });
    await expect(resolveModel("/nonexistent/pydnet-pp.onnx")).rejects.toMatchObject({
      message: expect.stringContaining("no such model file"),
    });
  });
});
