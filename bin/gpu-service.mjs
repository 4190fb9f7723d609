#!/usr/bin/env node
// The GPU service runs from TypeScript sources through tsx's loader, like the CLI.
import "./libuvPool.mjs"; // first: sharp's threads are sized before anything uses them
import { register } from "tsx/esm/api";
import { requireSupportedNode } from "./nodeVersion.mjs";

requireSupportedNode("gpu-service");

register();
await import("../gpu-service/src/server/main.ts");
