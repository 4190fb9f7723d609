/**
 * The elements the preview page's script looks up, by id: the markup (page.ts) must have each
 * (workers/src/routes/preview.test.ts checks), and the script can look up no other (its `$` takes
 * only these).
 */
export const PREVIEW_IDS = [
  "apiKey",
  "files",
  "folder",
  "frames",
  "unit",
  "stage",
  "upload",
  "status",
  "error",
  "result",
  "depth",
  "readout",
  "legend",
  "summary",
  "preview",
] as const;
export type PreviewId = (typeof PREVIEW_IDS)[number];
