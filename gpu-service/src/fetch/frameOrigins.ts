/**
 * Which origins the GPU service fetches frames from (`FRAME_ORIGINS`): exact origins such as
 * `https://api.example.com`, or `scheme://host:*` for any port of one host. Anything else is
 * never requested, so a signed job cannot point the service at internal hosts or ports.
 */
export type OriginRule = { protocol: string; hostname: string; port: string | "*" };

/** Loopback only: the local stacks (the edge in wrangler dev on some port of this host). */
export const DEFAULT_FRAME_ORIGINS = "http://127.0.0.1:*,http://localhost:*,http://[::1]:*";

/** Parses the comma-separated list; throws on an entry that is not a bare origin. */
export function parseOriginRules(list: string): OriginRule[] {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const wildcard = /:\*$/.test(entry);
      let url: URL;
      try {
        url = new URL(wildcard ? entry.slice(0, -2) : entry);
      } catch {
        throw new Error(`"${entry}" is not an origin (scheme://host[:port] or scheme://host:*)`);
      }
      if (
        (url.protocol !== "http:" && url.protocol !== "https:") ||
        url.origin !== (wildcard ? entry.slice(0, -2) : entry).replace(/\/$/, "").toLowerCase()
      )
        throw new Error(`"${entry}" is not an http(s) origin (no path, query or credentials)`);
      return {
        protocol: url.protocol,
        hostname: url.hostname,
        port: wildcard ? "*" : url.port,
      };
    });
}

export function originAllowed(url: URL, rules: readonly OriginRule[]): boolean {
  return rules.some(
    (r) =>
      r.protocol === url.protocol &&
      r.hostname === url.hostname &&
      (r.port === "*" || r.port === url.port),
  );
}
