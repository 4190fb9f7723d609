import { CAPTURE_SCRIPT } from "../generated/pageScripts.ts";
import { pageCsp } from "../lib/pageCsp.ts";

/** Mobile first, one thumb: the viewfinder fills the width, the Capture button right under it. */
export const CAPTURE_STYLE = `
:root { color-scheme: light dark; font: 16px/1.4 system-ui, -apple-system, sans-serif; }
body { margin: 0; }
main { max-width: 640px; margin: 0 auto; padding: .75rem; display: flex; flex-direction: column; gap: .6rem; }
h1 { font-size: 1.15rem; margin: 0; } h1 small { font-weight: normal; opacity: .7; }
label { display: block; }
input { font: inherit; padding: .4rem; box-sizing: border-box; }
#apiKey { width: 100%; }
.range { display: flex; gap: .5rem; } .range label { flex: 1; } .range input { width: 100%; }
.hint { font-size: .85rem; opacity: .75; margin: 0; }
#viewfinder { width: 100%; aspect-ratio: 4 / 3; background: #000; border-radius: .5rem; object-fit: cover; }
#capture { font: 600 1.2rem system-ui, sans-serif; padding: 1rem; border-radius: 2rem; border: 0; background: #1565c0; color: #fff; }
#capture:disabled { opacity: .5; }
#status { font-weight: 600; margin: 0; }
#error { color: #c62828; margin: 0; }
#frameList { margin: 0; padding-left: 1.4rem; font-size: .9rem; }
#depth { display: block; width: 100%; height: auto; touch-action: none; border-radius: .5rem; }
#readout { font: 700 1.4rem ui-monospace, Menlo, monospace; }
.downloads a { margin-right: 1rem; }
`;

const API_KEY_HINTS: Record<string, string> = {
  dev: "Local dev: the DEV_API_KEY from .dev.vars.",
  staging: "A staging API key.",
};

/** The capture page for `environment`: markup only; behaviour is the bundled CAPTURE_SCRIPT. */
export function renderCapturePage(environment: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HybridDepth capture (${environment})</title>
<link rel="icon" href="data:,">
<style>${CAPTURE_STYLE}</style>
</head>
<body data-state="idle">
<main>
<h1>HybridDepth <small>${environment} capture</small></h1>
<label>API key <input id="apiKey" type="password" autocomplete="off" spellcheck="false"></label>
<p class="hint">${API_KEY_HINTS[environment] ?? ""} Kept in this browser's localStorage.</p>
<video id="viewfinder" autoplay muted playsinline></video>
<div class="range">
<label>Nearest (m) <input id="near" type="number" step="any" min="0" inputmode="decimal" placeholder="auto"></label>
<label>Farthest (m) <input id="far" type="number" step="any" min="0" inputmode="decimal" placeholder="auto"></label>
</div>
<button id="capture" type="button">Capture</button>
<p id="status" role="status" aria-live="polite">idle</p>
<p id="error" role="alert" hidden></p>
<p id="fallback" hidden>Upload a focal stack from files instead: <a href="/">the file upload page</a>.</p>
<ol id="frameList" aria-label="frames"></ol>
<p id="bytes" class="hint"></p>
<section id="result" hidden>
<canvas id="depth" width="1" height="1" aria-label="depth over the reference image"></canvas>
<p><output id="readout">touch the image</output></p>
<p id="legend" class="hint"></p>
<p class="downloads"><a id="dlPng16" download="depth.png">depth PNG16 (mm)</a><a id="dlNpy" download="depth.npy">depth .npy (m)</a></p>
<p id="notes" class="hint"></p>
</section>
</main>
<script type="module">${CAPTURE_SCRIPT}</script>
</body>
</html>
`;
}

let csp: string | undefined;

/** The page's CSP (script and style by hash), computed once per isolate. */
export async function captureCsp(): Promise<string> {
  csp ??= await pageCsp(CAPTURE_SCRIPT, CAPTURE_STYLE);
  return csp;
}
