/**
 * The identity of the prior that computes a result, as part of its cache key: the model's name
 * and, when the GPU service reports it, the first 16 hex digits of its weights' sha256 (the same
 * name with other weights is another prior). null for a name that is not a plain token.
 */
export function priorIdentity(model: unknown, sha256?: unknown): string | null {
  if (typeof model !== "string" || !/^[a-z0-9][a-z0-9.-]*$/.test(model)) return null;
  return typeof sha256 === "string" && /^[0-9a-f]{64}$/.test(sha256)
    ? `${model}.${sha256.slice(0, 16)}`
    : model;
}
