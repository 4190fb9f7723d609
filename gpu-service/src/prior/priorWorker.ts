/**
 * The prior's own thread (priorThread.ts): holds its onnxruntime session and runs it.
 */
import { parentPort } from "node:worker_threads";
import type * as ort from "onnxruntime-node";
import { describeSession, fromResult, openSession, toFeeds } from "./priorSession.ts";
import type { FromPriorWorker, ToPriorWorker } from "./priorThread.ts";

const port = parentPort!;
let session: ort.InferenceSession | undefined;

port.on("message", async (m: ToPriorWorker) => {
  try {
    if (m.type === "open") {
      const opened = await openSession(m.path, m.providers, (p) => m.options[p] ?? {});
      session = opened.session;
      port.postMessage({
        type: "opened",
        id: m.id,
        ...describeSession(opened.session, opened.provider),
      } satisfies FromPriorWorker);
      return;
    }
    if (!session) throw new Error("prior session not open");
    const { outputs, transfer } = fromResult(await session.run(toFeeds(m.feeds)));
    port.postMessage({ type: "ran", id: m.id, outputs } satisfies FromPriorWorker, transfer);
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    port.postMessage({ type: "error", id: m.id, message } satisfies FromPriorWorker);
  }
});
