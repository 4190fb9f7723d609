import { availableParallelism } from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HybridDepthError } from "#shared/errors.ts";
import { loadConfig } from "../server/config.ts";
import { defaultThreads, THREADS_ENV } from "./threads.ts";

describe("the process's thread count", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("is the cores this process may use unless HYBRIDDEPTH_THREADS says otherwise", () => {
    vi.stubEnv(THREADS_ENV, undefined);
    expect(defaultThreads()).toBe(availableParallelism());
    vi.stubEnv(THREADS_ENV, "");
    expect(defaultThreads()).toBe(availableParallelism());
    vi.stubEnv(THREADS_ENV, "3");
    expect(defaultThreads()).toBe(3);
  });

  it("refuses a value that is not a positive whole number, in the pipeline and at service start", () => {
    for (const bad of ["two", "0", "-1", "1.5"]) {
      vi.stubEnv(THREADS_ENV, bad);
      expect(() => defaultThreads()).toThrow(HybridDepthError);
      expect(() => defaultThreads()).toThrow(
        `${THREADS_ENV}=${bad}: expected a positive whole number`,
      );
      expect(() => loadConfig({ HYBRIDDEPTH_DEV: "1", [THREADS_ENV]: bad })).toThrow(
        /invalid configuration: HYBRIDDEPTH_THREADS/,
      );
    }
    expect(loadConfig({ HYBRIDDEPTH_DEV: "1", [THREADS_ENV]: "4" })[THREADS_ENV]).toBe(4);
  });
});
