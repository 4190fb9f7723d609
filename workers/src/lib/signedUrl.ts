import { hmacHex, verifyHmacHex } from "#shared/auth/hmac.ts";

/**
 * Short-lived URLs the worker signs for itself: a frame's upload (PUT) and its download by the
 * GPU service (GET). The MAC covers method, path, capture, frame index, byte length, content
 * type and expiry, so a URL is good for exactly one frame as declared, until it expires.
 */
export interface UrlClaims {
  method: "PUT" | "GET";
  path: string;
  captureId: string;
  index: number;
  bytes: number;
  contentType: string;
}

function canonical(c: UrlClaims, exp: number): string {
  return ["hd-url-v1", c.method, c.path, c.captureId, c.index, c.bytes, c.contentType, exp].join(
    "\n",
  );
}

export async function signUrl(
  key: string,
  origin: string,
  claims: UrlClaims,
  expiresAt: number,
): Promise<string> {
  const exp = Math.floor(expiresAt / 1000);
  const sig = await hmacHex(key, canonical(claims, exp));
  return `${origin}${claims.path}?exp=${exp}&sig=${sig}`;
}

/** Where a frame's signed URLs live: its upload (PUT) and the GPU service's download (GET). */
export const uploadPath = (id: string, index: number) => `/v1/uploads/${id}/${index}`;
export const framePath = (id: string, index: number) => `/v1/frames/${id}/${index}`;

/** What a frame URL's signature covers, for frame `index` of capture `captureId` as declared. */
export function frameClaims(
  method: UrlClaims["method"],
  captureId: string,
  index: number,
  frame: { bytes: number; contentType: string },
): UrlClaims {
  const path = method === "PUT" ? uploadPath(captureId, index) : framePath(captureId, index);
  return { method, path, captureId, index, bytes: frame.bytes, contentType: frame.contentType };
}

export type UrlCheck = "ok" | "missing" | "expired" | "bad-signature";

export async function verifyUrl(
  key: string,
  url: URL,
  claims: UrlClaims,
  now = Date.now(),
): Promise<UrlCheck> {
  const exp = url.searchParams.get("exp");
  const sig = url.searchParams.get("sig");
  if (!exp || !sig || !/^\d{1,12}$/.test(exp)) return "missing";
  if (Number(exp) * 1000 < now) return "expired";
  return (await verifyHmacHex(key, canonical(claims, Number(exp)), sig)) ? "ok" : "bad-signature";
}
