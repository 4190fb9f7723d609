import { signRequest } from "#shared/auth/requestSignature.ts";

/** fetch() with the HMAC headers the GPU service requires. */
export async function signedFetch(
  base: string,
  secret: string,
  path: string,
  init: { method?: string; body?: Uint8Array | string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const method = init.method ?? (init.body === undefined ? "GET" : "POST");
  const body = init.body ?? "";
  const sig = await signRequest(secret, method, path, body);
  return fetch(base + path, {
    method,
    headers: { ...init.headers, ...sig },
    ...(init.body === undefined ? {} : { body: init.body as string }),
  });
}
