async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/**
 * Content-Security-Policy of a served page: nothing but same-origin API calls, images from the
 * API (as blob: URLs) and the one inline script and style block, allowed by their sha256.
 */
export async function pageCsp(script: string, style: string): Promise<string> {
  const [s, st] = await Promise.all([sha256Base64(script), sha256Base64(style)]);
  return [
    "default-src 'none'",
    `script-src 'sha256-${s}'`,
    `style-src 'sha256-${st}'`,
    "connect-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Headers every served page carries besides its CSP. */
export const PAGE_HEADERS = {
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
} as const;
