import { describe, expect, it } from "vitest";
import { captureLimits } from "./limits.ts";

describe("captureLimits", () => {
  it("has the README's defaults, and a malformed value falls back to them", () => {
    const defaults = {
      deadlineMs: 900_000,
      redriveAttempts: 3,
      ttlMs: 86_400_000,
      retentionMs: 30 * 86_400_000,
      maxOpenCaptures: 20,
      maxStoredBytes: 2 * 1024 ** 3,
    };
    expect(captureLimits({})).toEqual(defaults);
    expect(
      captureLimits({ CAPTURE_TTL_SECONDS: "-5", MAX_OPEN_CAPTURES_PER_PRINCIPAL: "1e9" }),
    ).toEqual(defaults);
    expect(
      captureLimits({ CAPTURE_TTL_SECONDS: "60", CAPTURE_REDRIVE_ATTEMPTS: "1" }),
    ).toMatchObject({ ttlMs: 60_000, redriveAttempts: 1 });
  });

  it("a deadline is never shorter than one GPU call and a minute", () => {
    expect(captureLimits({ CAPTURE_DEADLINE_SECONDS: "30" }).deadlineMs).toBe(660_000);
    expect(
      captureLimits({ CAPTURE_DEADLINE_SECONDS: "30", GPU_TIMEOUT_SECONDS: "10" }).deadlineMs,
    ).toBe(70_000);
  });
});
