// Worker-thread entry: load tsx's loader here (workers do not inherit the parent's), then the
// TypeScript worker itself.
import { register } from "tsx/esm/api";

register();
await import("./priorWorker.ts");
