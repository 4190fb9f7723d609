import { describe, expect, it } from "vitest";
import { api, jpegBytes, postJson, testEnv, waitForState } from "../../test/api.ts";
import { createApp } from "../app.ts";
import { PREVIEW_IDS } from "../preview/ids.ts";

const IDS = [
  "apiKey",
  "files",
  "folder",
  "stage",
  "upload",
  "status",
  "depth",
  "readout",
  "preview",
  "error",
];

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** The text between each `<tag ...>` and `</tag>`, with the opening tag's attributes. */
function blocks(html: string, tag: string): { attrs: string; text: string }[] {
  return [...html.matchAll(new RegExp(`<${tag}([^>]*)>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => ({
    attrs: m[1]!,
    text: m[2]!,
  }));
}

async function page() {
  const res = await api("/", { auth: null });
  return { res, html: await res.text() };
}

describe("GET / (preview page)", () => {
  it("serves one HTML page, uncached, without credentials", async () => {
    const { res, html } = await page();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(html).toMatch(/^<!doctype html>/i);
    for (const id of IDS) expect(html, id).toContain(`id="${id}"`);
  });

  it("allows exactly its inline script and style by their sha256, and only the same origin", async () => {
    const { res, html } = await page();
    const csp = res.headers.get("content-security-policy")!;
    const directives = Object.fromEntries(
      csp
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k, v.join(" ")]),
    );
    const scripts = blocks(html, "script");
    const styles = blocks(html, "style");
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    expect(scripts[0]!.attrs).toBe(' type="module"');
    expect(directives).toMatchObject({
      "default-src": "'none'",
      "script-src": `'sha256-${await sha256Base64(scripts[0]!.text)}'`,
      "style-src": `'sha256-${await sha256Base64(styles[0]!.text)}'`,
      "connect-src": "'self'",
      "img-src": "'self' blob: data:",
    });
  });

  it("loads nothing from elsewhere and has no markup the CSP would block", async () => {
    const { html } = await page();
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/\s(src|href)="(?!data:)/i);
    // Inline handlers and style attributes are not covered by script/style hashes.
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\sstyle=/i);
  });

  it("has every element its script looks up, and the bundled script", async () => {
    const { html } = await page();
    // The script's `$` takes only PREVIEW_IDS (typed): the markup must have each of them.
    for (const id of PREVIEW_IDS) expect(html, id).toContain(`id="${id}"`);
    const script = blocks(html, "script")[0]!.text;
    // The bundle from scripts/buildPageScripts.ts (SDK included), not a leftover placeholder.
    expect(script.length).toBeGreaterThan(10_000);
    expect(script).toContain("/v1/captures");
  });

  it("is served in dev and staging, and is a plain 404 in production", async () => {
    const app = createApp();
    expect((await app.request("/", {}, { ...testEnv, ENVIRONMENT: "staging" })).status).toBe(200);
    const res = await app.request("/", {}, { ...testEnv, ENVIRONMENT: "production" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "No such route" } });
  });
});

describe("the API calls the page makes", () => {
  it("create, signed PUT with only Content-Type, finalize with an Idempotency-Key, poll, results", async () => {
    const frames = [jpegBytes(300, 1), jpegBytes(320, 2), jpegBytes(310, 3)];
    // capture.json's extra fields travel with the frames (the page spreads the bundle).
    const meta = {
      version: 1,
      focusUnit: "m",
      reference: 1,
      depthRange: { min: 0.1, max: 5 },
      frames: frames.map((b, i) => ({
        file: `image_${i}_0.${i + 3}5.jpg`,
        focusDistance: 0.35 + i * 0.1,
        bytes: b.byteLength,
        contentType: "image/jpeg",
      })),
      options: { stage: "aligned" },
    };
    const created = (await (await postJson("/v1/captures", meta)).json()) as {
      id: string;
      uploads: { index: number; url: string; method: string; headers: Record<string, string> }[];
    };
    for (const u of created.uploads) {
      const res = await api(u.url, {
        method: u.method,
        body: frames[u.index],
        headers: { "content-type": u.headers["content-type"]! },
        auth: null,
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({
        index: u.index,
        bytes: frames[u.index]!.byteLength,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    }
    const fin = await api(`/v1/captures/${created.id}/finalize`, {
      method: "POST",
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    expect([200, 202]).toContain(fin.status);
    const status = (await waitForState(created.id, ["done", "failed"])) as {
      state: string;
      progress: unknown;
      results: Record<string, string>;
    };
    expect(status).toMatchObject({
      state: "done",
      progress: { framesUploaded: 3, framesTotal: 3 },
    });

    const result = (await (await api(status.results.json!)).json()) as {
      width: number;
      height: number;
    };
    const f32 = await (await api(status.results.f32!)).arrayBuffer();
    expect(f32.byteLength).toBe(result.width * result.height * 4);
    const preview = await api(status.results.preview!);
    expect(preview.headers.get("content-type")).toBe("image/png");
  });

  it("answers errors as { error: { code, message } } for the page to show", async () => {
    const res = await postJson("/v1/captures", {
      version: 1,
      focusUnit: "m",
      frames: [{ file: "a.jpg", focusDistance: null, bytes: 10, contentType: "image/jpeg" }],
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: "invalid_capture", message: expect.any(String) },
    });
  });
});
