/**
 * R2 key layout (one place):
 *   captures/<captureId>/frames/<index>       uploaded frame bytes
 *   captures/<captureId>/tus/<uploadId>/tail  a tus upload's bytes short of a full part
 *   results/<address>/<file>                  outputs of a content address, shared by every
 *                                             capture with the same frames, metadata, options
 *                                             and pipeline version
 */
export const frameKey = (captureId: string, index: number) =>
  `captures/${captureId}/frames/${index}`;
/** Bytes of a tus upload short of a full R2 part, between PATCH requests. */
export const tusTailKey = (captureId: string, uploadId: string) =>
  `captures/${captureId}/tus/${uploadId}/tail`;
export const capturePrefix = (captureId: string) => `captures/${captureId}/`;
export const resultKey = (address: string, file: ResultFile) => `results/${address}/${file}`;
export const resultPrefix = (address: string) => `results/${address}/`;

/** Result files and how `?format=` names them. */
export const RESULT_FILES = {
  json: { file: "result.json", type: "application/json" },
  f32: { file: "depth.f32", type: "application/octet-stream" },
  npy: { file: "depth.npy", type: "application/octet-stream" },
  png16: { file: "depth.png", type: "image/png" },
  preview: { file: "preview.png", type: "image/png" },
  confidence: { file: "confidence.u8", type: "application/octet-stream" },
} as const;
export type ResultFormat = keyof typeof RESULT_FILES;
export type ResultFile = (typeof RESULT_FILES)[ResultFormat]["file"];
