#!/usr/bin/env node
// `npm run dev:worker`: the edge worker in `wrangler dev` (local R2, Durable Objects, Queues),
// on PORT (default 8787). Creates .dev.vars from .dev.vars.example the first time.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const vars = `${root}.dev.vars`;
if (!existsSync(vars)) {
  copyFileSync(`${root}.dev.vars.example`, vars);
  console.log("created .dev.vars from .dev.vars.example (local secrets; never commit it)");
}
const port = process.env.PORT ?? "8787";
const wrangler = spawn(
  "wrangler",
  ["dev", "--port", port, "--ip", process.env.HOST ?? "127.0.0.1", ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit", shell: false },
);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => wrangler.kill(sig));
wrangler.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
