import { Hono } from "hono";
import { STAGES } from "#shared/capture/schema.ts";
import { PIPELINE_VERSION } from "#shared/pipeline/version.ts";
import { OUTPUTS } from "#shared/service/fuseJob.ts";
import type { ServiceState } from "../serviceState.ts";

/** Open Inference Protocol model metadata for the one model this service serves. */
export function modelRoutes(state: ServiceState): Hono {
  return new Hono().get("/v2/models/hybriddepth", (c) =>
    c.json({
      name: "hybriddepth",
      versions: [PIPELINE_VERSION],
      platform: "onnxruntime-node",
      prior: { model: state.model, sha256: state.modelSha256, provider: state.provider },
      stages: STAGES,
      inputs: [
        {
          name: "frames",
          datatype: "BYTES",
          shape: [-1],
          description: "JPEG or PNG frames of one focal stack",
        },
      ],
      outputs: OUTPUTS.map((name) => ({ name })),
    }),
  );
}
