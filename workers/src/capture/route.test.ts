import { describe, expect, it } from "vitest";
import { api, testEnv } from "../../test/api.ts";
import { createApp } from "../app.ts";

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** The one inline block `<tag ...>…</tag>` of the page. */
function block(html: string, tag: string): string {
  const found = [...html.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, "g"))];
  expect(found, tag).toHaveLength(1);
  return found[0]![1]!;
}

describe("GET /capture (capture page, in workerd)", () => {
  it("serves the page with the contract's controls and the bundled script, allowed by its hash", async () => {
    const res = await api("/capture", { auth: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("permissions-policy")).toContain("camera=(self)");
    const html = await res.text();
    expect(html).toMatch(/<body data-state="idle">/);
    expect(html).toMatch(/<label>API key <input id="apiKey"/);
    expect(html).toMatch(/<button id="capture"[^>]*>Capture<\/button>/);
    const script = block(html, "script");
    // The bundle from scripts/buildPageScripts.ts, not an empty or leftover placeholder.
    expect(script.length).toBeGreaterThan(10_000);
    expect(script).toContain("focusDistance");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain(`'sha256-${await sha256Base64(script)}'`);
    expect(csp).toContain(`'sha256-${await sha256Base64(block(html, "style"))}'`);
    expect(csp).not.toContain("unsafe-inline");
  });

  it("is served in staging and is a plain 404 in production", async () => {
    const app = createApp();
    expect((await app.request("/capture", {}, { ...testEnv, ENVIRONMENT: "staging" })).status).toBe(
      200,
    );
    const res = await app.request("/capture", {}, { ...testEnv, ENVIRONMENT: "production" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "No such route" } });
  });
});
