import {
  outputByFormat,
  RESULT_FORMATS,
  type ResultFile,
  type ResultFormat,
} from "#shared/service/outputs.ts";

/**
 * R2 key layout (one place):
 *   captures/<captureId>/frames/<index>/<uploadId>       one upload of a frame's bytes: each upload
 *                                                        writes its own object, and the record
 *                                                        switches to it only once it is validated
 *   captures/<captureId>/tus/<uploadId>/tail             a tus upload's bytes short of a full part
 *   captures/<captureId>/g<generation>/results/<file>    a capture's own result, when it may not be
 *                                                        shared (the GPU fell back below the stage asked)
 *   results/<scope>/<address>/<computedBy>/<file>        a tenant's result for a content address,
 *                                                        computed by `computedBy` (stage + prior),
 *                                                        shared by that tenant's captures only
 *   results/<scope>/<address>/<computedBy>/refs/<id>     one marker per capture that uses it: the
 *                                                        result goes when the last one is deleted
 */
export const frameKey = (captureId: string, index: number, uploadId: string) =>
  `captures/${captureId}/frames/${index}/${uploadId}`;
/** Bytes of a tus upload short of a full R2 part, between PATCH requests. */
export const tusTailKey = (captureId: string, uploadId: string) =>
  `captures/${captureId}/tus/${uploadId}/tail`;
export const capturePrefix = (captureId: string) => `captures/${captureId}/`;

/** What computes a result: the stage reached and, above depth from focus, the prior's identity. */
export function computedBy(stage: string, prior: string | null): string {
  return stage === "dff" ? "dff" : `${stage}-${prior ?? "none"}`;
}

/** Where a tenant's shared result lives (`scope` is the owner's digest, never the raw principal). */
export const sharedResultPrefix = (scope: string, address: string, by: string) =>
  `results/${scope}/${address}/${by}/`;
/** Where a result that may not be shared lives: under its capture and generation. */
export const privateResultPrefix = (captureId: string, generation: number) =>
  `captures/${captureId}/g${generation}/results/`;
export const resultRefKey = (prefix: string, captureId: string) => `${prefix}refs/${captureId}`;
export const resultKey = (prefix: string, file: ResultFile) => `${prefix}${file}`;

/** Result files by `?format=` (from the one outputs table). */
export const RESULT_FILES = Object.fromEntries(
  RESULT_FORMATS.map((f) => {
    const o = outputByFormat(f);
    return [f, { file: o.file, type: o.contentType }];
  }),
) as Record<ResultFormat, { file: ResultFile; type: string }>;
export type { ResultFile, ResultFormat };
