import { describe, expect, it } from "vitest";
import { captureIdOfJobId, FuseJobSchema, fuseJobId, JOB_ID } from "./fuseJob.ts";

const capture = "0f8fad5b-d9cb-469f-a165-70867728950e";
const address = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

describe("fuseJobId", () => {
  it("names the capture, its generation and its content address, as a valid job id", () => {
    const id = fuseJobId(capture, 3, address);
    expect(id).toMatch(JOB_ID);
    expect(id).toBe(fuseJobId(capture, 3, address));
    expect(captureIdOfJobId(id)).toBe(capture);
    // A new generation, or other content, is another job.
    expect(fuseJobId(capture, 4, address)).not.toBe(id);
    expect(fuseJobId(capture, 3, `1${address.slice(1)}`)).not.toBe(id);
    expect(FuseJobSchema.shape.jobId.safeParse(fuseJobId(capture, 2 ** 31, address)).success).toBe(
      true,
    );
  });

  it("refuses what would not be a job id", () => {
    expect(() => fuseJobId("../etc", 1, address)).toThrow(/not a valid job id/);
  });
});
