import { PREVIEW_SCRIPT } from "../generated/pageScripts.ts";
import { pageCsp } from "../lib/pageCsp.ts";

/** Environments that serve the preview page; production answers 404 like any unknown route. */
export const PREVIEW_ENVIRONMENTS: readonly string[] = ["dev", "staging"];

/** Inline styles: no style attributes anywhere (the CSP allows this block by its hash only). */
export const PREVIEW_STYLE = `
:root { color-scheme: light dark; font: 15px/1.45 system-ui, -apple-system, sans-serif; }
body { margin: 0; }
main { max-width: 960px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.3rem; } h1 small { font-weight: normal; opacity: .7; }
section { margin: 1rem 0; }
label { display: inline-block; margin: .25rem 1rem .25rem 0; }
input[type=password] { width: 22rem; max-width: 100%; }
.hint { font-size: .85rem; opacity: .75; margin: .25rem 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .9rem; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid #8884; }
td input { width: 7rem; }
#status { font-weight: 600; }
#error { color: #c62828; white-space: pre-wrap; }
#depth { display: block; width: 100%; height: auto; image-rendering: pixelated; touch-action: none; cursor: crosshair; background: #8882; }
#readout { font: 600 1rem ui-monospace, Menlo, monospace; }
#preview { display: block; max-width: 100%; margin-top: .5rem; }
`;

const API_KEY_HINTS: Record<string, string> = {
  dev: "Local dev: the DEV_API_KEY from .dev.vars (default “dev-key-change-me”).",
  staging: "A staging API key.",
};

/** The page for `environment` (dev or staging): markup only; behaviour is the bundled PREVIEW_SCRIPT (preview/browser/main.ts). */
export function renderPreviewPage(environment: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HybridDepth preview (${environment})</title>
<link rel="icon" href="data:,">
<style>${PREVIEW_STYLE}</style>
</head>
<body data-state="idle">
<main>
<h1>HybridDepth <small>${environment} preview</small></h1>
<section>
<label>API key <input id="apiKey" type="password" autocomplete="off" spellcheck="false"></label>
<p class="hint">${API_KEY_HINTS[environment] ?? ""} Kept in this browser's localStorage.</p>
</section>
<section>
<label>Frames <input id="files" type="file" multiple accept="image/jpeg,image/png,application/json,.json"></label>
<label>or a folder <input id="folder" type="file" multiple webkitdirectory></label>
<p class="hint">Focus distances come from a capture.json among the picked files, else from names like image_0_0.35.jpg (metres); either way they can be edited below.</p>
<table id="frames">
<thead><tr><th>frame</th><th>size</th><th>focus distance <select id="unit" aria-label="focus unit"><option value="m">m</option><option value="diopter">diopter</option></select></th><th>upload</th></tr></thead>
<tbody></tbody>
</table>
<label>Stage <select id="stage"><option value="full" selected>full</option><option value="aligned">aligned</option><option value="dff">dff</option></select></label>
<button id="upload" type="button" disabled>Upload and run</button>
</section>
<section>
<p id="status" role="status" aria-live="polite">idle</p>
<p id="error" role="alert" hidden></p>
</section>
<section id="result" hidden>
<canvas id="depth" width="1" height="1"></canvas>
<p><output id="readout">–</output> <span id="legend" class="hint"></span></p>
<p id="summary" class="hint"></p>
<img id="preview" alt="Server preview: colorized depth beside the reference image">
</section>
</main>
<script type="module">${PREVIEW_SCRIPT}</script>
</body>
</html>
`;
}

let csp: string | undefined;

/**
 * The page's Content-Security-Policy (lib/pageCsp.ts). The text is static, so the policy is
 * computed once per isolate (the string is kept, not a promise, which workerd would not share
 * across requests).
 */
export async function previewCsp(): Promise<string> {
  csp ??= await pageCsp(PREVIEW_SCRIPT, PREVIEW_STYLE);
  return csp;
}
