#!/usr/bin/env node
// The CLI runs from TypeScript sources through tsx's loader: no build step to forget.
import "./libuvPool.mjs"; // first: sharp's threads are sized before anything uses them
import { register } from "tsx/esm/api";
import { requireSupportedNode } from "./nodeVersion.mjs";

requireSupportedNode("hybriddepth");

register();
const { main } = await import("../gpu-service/src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
