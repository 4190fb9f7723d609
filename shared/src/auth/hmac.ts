/** HMAC-SHA256 over text, with Web Crypto only (Workers, browsers and Node alike). */
const encoder = new TextEncoder();

function hmacKey(secret: string): ReturnType<typeof crypto.subtle.importKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

export function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function hmacHex(secret: string, message: string): Promise<string> {
  return toHex(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(message)));
}

/** Checks a hex MAC; `crypto.subtle.verify` compares in constant time. */
export async function verifyHmacHex(
  secret: string,
  message: string,
  macHex: string,
): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/.test(macHex)) return false;
  const mac = Uint8Array.from(macHex.match(/../g)!, (h) => Number.parseInt(h, 16));
  return crypto.subtle.verify("HMAC", await hmacKey(secret), mac, encoder.encode(message));
}

export async function sha256Hex(body: Uint8Array | string): Promise<string> {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  return toHex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}
