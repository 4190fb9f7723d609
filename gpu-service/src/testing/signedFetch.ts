import { signRequest } from "#shared/auth/requestSignature.ts";

/**
 * fetch() with the HMAC headers the GPU service requires. A body goes as application/json unless
 * `headers` say otherwise: the Content-Type is signed, and fetch would otherwise add its own.
 */
export async function signedFetch(
  base: string,
  secret: string,
  path: string,
  init: { method?: string; body?: Uint8Array | string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const method = init.method ?? (init.body === undefined ? "GET" : "POST");
  const body = init.body ?? "";
  const given = headerOf(init.headers, "content-type");
  const contentType = given ?? (init.body === undefined ? undefined : "application/json");
  const sig = await signRequest(secret, { method, path, contentType, body });
  return fetch(base + path, {
    method,
    headers: {
      ...init.headers,
      ...(given === undefined && contentType ? { "content-type": contentType } : {}),
      ...sig,
    },
    ...(init.body === undefined ? {} : { body: init.body as string }),
  });
}

function headerOf(headers: Record<string, string> | undefined, name: string): string | undefined {
  return Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];
}
