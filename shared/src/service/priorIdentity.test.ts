import { describe, expect, it } from "vitest";
import { priorIdentity } from "./priorIdentity.ts";

describe("priorIdentity", () => {
  const sha = "2df6223f206b5164e21f664ace61dabeb9bb6a49b8b5a3e00510b4807d0f5b04";
  it("names the weights when their sha256 is known", () => {
    expect(priorIdentity("pydnet-pp", sha)).toBe("pydnet-pp.2df6223f206b5164");
    // Other weights under the same name are another prior.
    expect(priorIdentity("pydnet-pp", `0${sha.slice(1)}`)).not.toBe(
      priorIdentity("pydnet-pp", sha),
    );
  });
  it("falls back to the name alone, and refuses names that are not plain tokens", () => {
    expect(priorIdentity("pydnet-pp", null)).toBe("pydnet-pp");
    expect(priorIdentity("pydnet-pp", "not-a-digest")).toBe("pydnet-pp");
    expect(priorIdentity("../x", sha)).toBeNull();
    expect(priorIdentity(null)).toBeNull();
  });
});
