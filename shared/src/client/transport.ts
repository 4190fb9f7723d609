import { abortReason } from "./abort.ts";
import { apiErrorFromBody, HybridDepthApiError, isAbortError, NetworkError } from "./errors.ts";
import { parseRetryAfter, type RetryPolicy, withRetry } from "./retry.ts";

export interface TransportOptions {
  baseUrl: string;
  /** The Authorization header value, asked for before each authenticated request. */
  authorization: () => Promise<string>;
  fetch: typeof fetch;
  retry: RetryPolicy;
}

export interface RequestSpec {
  method?: string;
  headers?: Record<string, string>;
  body?: RequestInit["body"];
  /** Send the Authorization header (default true; signed URLs carry their own credentials). */
  auth?: boolean;
  signal?: AbortSignal;
  /** A non-2xx answer that is a success here (e.g. 404 on a retried DELETE): handed to `read`. */
  accept?: (res: Response, attempt: number) => boolean;
}

/** The one place requests go out: base URL, auth, typed errors, retries with backoff. */
export class Transport {
  constructor(readonly options: TransportOptions) {}

  /** An absolute URL as is; a path against the base URL. */
  url(path: string): string {
    return /^https?:\/\//i.test(path) ? path : `${this.options.baseUrl.replace(/\/+$/, "")}${path}`;
  }

  async authorization(): Promise<string> {
    return this.options.authorization();
  }

  /**
   * Sends the request (again, while it fails for a passing reason) and hands the answer to
   * `read` inside the same try, so a body cut mid-way is retried too.
   */
  request<T>(
    path: string,
    spec: RequestSpec,
    read: (res: Response, attempt: number) => Promise<T>,
  ): Promise<T> {
    const url = this.url(path);
    const method = spec.method ?? "GET";
    const what = `${method} ${path.replace(/\?.*$/, "")}`;
    return withRetry(
      async (attempt) => {
        const headers: Record<string, string> = { ...spec.headers };
        if (spec.auth !== false) headers.authorization = await this.options.authorization();
        let res: Response;
        try {
          res = await this.options.fetch(url, {
            method,
            headers,
            ...(spec.body === undefined ? {} : { body: spec.body }),
            ...(spec.signal ? { signal: spec.signal } : {}),
          });
        } catch (err) {
          throw failure(err, what, spec.signal);
        }
        if (!res.ok && !spec.accept?.(res, attempt)) {
          const text = await res.text().catch(() => "");
          throw apiErrorFromBody(res.status, text, parseRetryAfter(res.headers.get("retry-after")));
        }
        try {
          return await read(res, attempt);
        } catch (err) {
          if (err instanceof HybridDepthApiError) throw err;
          if (err instanceof SyntaxError)
            throw new HybridDepthApiError(
              res.status,
              "unexpected_response",
              `${what}: answer is not the expected JSON`,
            );
          throw failure(err, what, spec.signal);
        }
      },
      this.options.retry,
      spec.signal ? { signal: spec.signal } : {},
    );
  }

  /** A JSON request with a JSON answer. */
  json<T>(path: string, spec: RequestSpec & { json?: unknown } = {}): Promise<T> {
    const { json, ...rest } = spec;
    return this.request(
      path,
      json === undefined
        ? rest
        : {
            ...rest,
            headers: { "content-type": "application/json", ...rest.headers },
            body: JSON.stringify(json),
          },
      async (res) => (await res.json()) as T,
    );
  }
}

/** What a thrown fetch means: the caller's abort (passed through) or a network failure. */
function failure(err: unknown, what: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return abortReason(signal);
  if (isAbortError(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new NetworkError(`${what}: ${detail}`, { cause: err });
}
