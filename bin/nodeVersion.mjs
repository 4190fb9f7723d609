// The Node versions package.json's `engines.node` allows ("≥22.12 <23"), checked before anything
// else loads: under an older Node the pipeline fails far from the cause (onnxruntime refuses the
// shared-memory planes with a bare "Invalid argument"), so the entry points say it up front.
import { readFileSync } from "node:fs";

const parse = (v) =>
  v
    .replace(/^v/, "")
    .split(".")
    .map((p) => Number.parseInt(p, 10) || 0);

function compare(a, b) {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether `version` meets `range`: space-separated `>=X.Y.Z` and `<X.Y.Z` terms, all of them. */
export function satisfies(version, range) {
  const v = parse(version);
  return range
    .trim()
    .split(/\s+/)
    .every((term) => {
      const m = /^(>=|<)(\d+(?:\.\d+){0,2})$/.exec(term);
      if (!m) throw new Error(`unsupported engines term "${term}"`);
      const c = compare(v, parse(m[2]));
      return m[1] === ">=" ? c >= 0 : c < 0;
    });
}

/** Exits with a one-line message when this Node is outside `engines.node`. */
export function requireSupportedNode(name) {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  const range = pkg.engines.node;
  if (satisfies(process.versions.node, range)) return;
  process.stderr.write(
    `${name}: needs Node ${range} (this is v${process.versions.node} at ${process.execPath}); ` +
      "run it through npm (npm run / npx use the project's own Node) or put that Node first on PATH\n",
  );
  process.exit(1);
}
