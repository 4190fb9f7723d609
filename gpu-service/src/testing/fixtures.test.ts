import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "./fixtures.ts";

describe("tempDir", () => {
  it("makes fresh folders that removeTempDirs takes away with what is in them", async () => {
    const [a, b] = [await tempDir(), await tempDir("hybriddepth-other-")];
    expect(a).not.toBe(b);
    await mkdir(join(a, "nested"));
    await writeFile(join(a, "nested", "f.bin"), new Uint8Array(8));
    expect(existsSync(join(a, "nested", "f.bin")) && existsSync(b)).toBe(true);
    await removeTempDirs();
    expect(existsSync(a) || existsSync(b)).toBe(false);
    await removeTempDirs(); // nothing left to remove: no error
  });

  it("removes at exit what is still there, with one exit listener however many folders", async () => {
    const dirs = [];
    for (let k = 0; k < 12; k++) {
      dirs.push(await tempDir());
      if (k % 3 === 0) await removeTempDirs();
    }
    const atExit = process.listeners("exit").filter((f) => f.name === "removeTempDirsNow");
    expect(atExit).toHaveLength(1);
    atExit[0]!(0);
    expect(dirs.some((d) => existsSync(d))).toBe(false);
  });
});
