/**
 * Every output of a fuse, named once. The GPU service's answer parts (`part`), the edge's R2
 * files and the CLI's files (`file`), the API's `?format=` values (`format`), content types and
 * encodings all derive from this table; nothing restates them.
 *
 * `part`: sent in the GPU service's multipart answer under this name (null: derived at the edge).
 * `format`: served by `GET /v1/captures/:id/depth?format=` (null: not served by the API).
 * `cli`: written by `hybriddepth fuse --out`.
 */
export const OUTPUT_TABLE = [
  {
    part: "result",
    format: "json",
    file: "result.json",
    cli: true,
    contentType: "application/json",
    encoding: "JSON: what ran, timings, alignment, fallbacks (ResultSchema)",
  },
  {
    part: "depth",
    format: "f32",
    file: "depth.f32",
    cli: false,
    contentType: "application/octet-stream",
    encoding: "little-endian float32 metres, row-major, width × height from result",
  },
  {
    part: null,
    format: "npy",
    file: "depth.npy",
    cli: true,
    contentType: "application/octet-stream",
    encoding: "NumPy .npy float32 metres, shape (height, width), made from depth",
  },
  {
    part: "depth_png",
    format: "png16",
    file: "depth.png",
    cli: true,
    contentType: "image/png",
    encoding: "16-bit grey PNG of millimetres, 0 = invalid",
  },
  {
    part: "confidence",
    format: "confidence",
    file: "confidence.u8",
    cli: false,
    contentType: "application/octet-stream",
    encoding: "uint8 per pixel, 255 = sure, row-major",
  },
  {
    part: null,
    format: null,
    file: "confidence.png",
    cli: true,
    contentType: "image/png",
    encoding: "8-bit grey PNG of the confidence, 255 = sure",
  },
  {
    part: "preview",
    format: "preview",
    file: "preview.png",
    cli: true,
    contentType: "image/png",
    encoding: "PNG: colour-mapped depth beside the reference frame",
  },
  {
    part: "aif",
    format: null,
    file: "aif.png",
    cli: true,
    contentType: "image/png",
    encoding: "PNG: the all-in-focus image",
  },
] as const;

export type OutputSpec = (typeof OUTPUT_TABLE)[number];
type WithPart = Extract<OutputSpec, { part: string }>;
type WithFormat = Extract<OutputSpec, { format: string }>;

/** GPU answer part names. */
export type OutputName = WithPart["part"];
export const OUTPUTS = OUTPUT_TABLE.flatMap((o) => (o.part ? [o.part] : [])) as [
  OutputName,
  ...OutputName[],
];

/** `?format=` values. */
export type ResultFormat = WithFormat["format"];
export const RESULT_FORMATS = OUTPUT_TABLE.flatMap((o) => (o.format ? [o.format] : [])) as [
  ResultFormat,
  ...ResultFormat[],
];
/** The metric answer itself, lossless: the default of the API and the SDK alike. */
export const DEFAULT_FORMAT: ResultFormat = "f32";

/** Result files the edge stores (one per format). */
export type ResultFile = WithFormat["file"];

export const outputByPart = (part: OutputName) =>
  OUTPUT_TABLE.find((o) => o.part === part) as WithPart;
export const outputByFormat = (format: ResultFormat) =>
  OUTPUT_TABLE.find((o) => o.format === format) as WithFormat;

/** Content type of each GPU answer part. */
export const OUTPUT_CONTENT_TYPES = Object.fromEntries(
  OUTPUTS.map((p) => [p, outputByPart(p).contentType]),
) as Record<OutputName, string>;

/** The files the CLI writes. */
export const CLI_FILES = OUTPUT_TABLE.flatMap((o) => (o.cli ? [o.file] : []));

/** The answer parts the edge asks for: those it serves (besides result, always sent). */
export const EDGE_PARTS = OUTPUT_TABLE.flatMap((o) =>
  o.part && o.format && o.part !== "result" ? [o.part] : [],
);
