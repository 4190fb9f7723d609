import { Worker } from "node:worker_threads";
import type * as ort from "onnxruntime-node";
import type { Provider } from "./priorRunner.ts";
import type {
  PriorSession,
  SessionDescription,
  SessionOptionsFor,
  WireTensor,
} from "./priorSession.ts";

export type ToPriorWorker =
  | {
      type: "open";
      id: number;
      path: string;
      providers: Provider[];
      options: Partial<Record<Provider, ort.InferenceSession.SessionOptions>>;
    }
  | { type: "run"; id: number; feeds: Record<string, WireTensor> };

export type FromPriorWorker =
  | ({ type: "opened"; id: number } & SessionDescription)
  | { type: "ran"; id: number; outputs: Record<string, WireTensor> }
  | { type: "error"; id: number; message: string };

type Call = DistributiveOmit<ToPriorWorker, "id">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Live {
  worker: Worker;
  pending: Map<number, { resolve: (m: FromPriorWorker) => void; reject: (e: unknown) => void }>;
  /** The session opened on it (a run waits for it). */
  opened: Promise<SessionDescription>;
  /** Why the thread is gone, once it is. */
  lost?: Error;
}

/**
 * A prior's onnxruntime session on a thread of its own, run from here without blocking this
 * thread: onnxruntime-node runs a session synchronously on the thread that calls it, and there
 * an inference would stall what this thread drives beside it (the lens fit's row bands, other
 * jobs' frames). A thread that dies fails the runs it had; the next run opens the session again
 * on a fresh thread, on the provider the first one opened on.
 */
export class PriorThread {
  private live: Live;
  private seq = 0;

  private constructor(
    private readonly path: string,
    private providers: Provider[],
    private readonly options: SessionOptionsFor,
  ) {
    this.live = this.spawn();
  }

  /**
   * Opens the model on a new thread, each provider tried in turn (`openSession`). `close` ends
   * the thread as a crash would: runs in flight fail, and a later run opens a fresh one.
   */
  static async open(
    path: string,
    providers: Provider[],
    options: SessionOptionsFor,
  ): Promise<PriorSession & { close(): Promise<void> }> {
    const thread = new PriorThread(path, providers, options);
    try {
      const description = await thread.live.opened;
      // A thread opened again must give the same session: a result names its provider.
      thread.providers = [description.provider];
      return {
        ...description,
        run: (feeds) => thread.run(feeds),
        close: () => thread.close(),
      };
    } catch (e) {
      await thread.close();
      throw e;
    }
  }

  private async run(feeds: Record<string, WireTensor>): Promise<Record<string, WireTensor>> {
    if (this.live.lost) this.live = this.spawn();
    const live = this.live;
    await live.opened;
    const transfer = Object.values(feeds).map((t) => t.data.buffer as ArrayBuffer);
    const m = await this.call(live, { type: "run", feeds }, transfer);
    return (m as Extract<FromPriorWorker, { type: "ran" }>).outputs;
  }

  private async close(): Promise<void> {
    await this.live.worker.terminate();
  }

  private spawn(): Live {
    const worker = new Worker(new URL("./priorWorker.mjs", import.meta.url));
    // Idle, the thread must not keep a CLI process alive (a call in flight refs it).
    worker.unref();
    const live: Live = { worker, pending: new Map(), opened: new Promise(() => {}) };
    worker.on("message", (m: FromPriorWorker) => {
      const p = live.pending.get(m.id);
      if (!p) return;
      live.pending.delete(m.id);
      if (live.pending.size === 0) worker.unref();
      if (m.type === "error") p.reject(new Error(m.message));
      else p.resolve(m);
    });
    const fail = (e: Error) => {
      live.lost ??= e;
      for (const p of live.pending.values()) p.reject(e);
      live.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`prior thread exited (code ${code})`)));
    const options = Object.fromEntries(this.providers.map((p) => [p, this.options(p)]));
    live.opened = this.call(
      live,
      { type: "open", path: this.path, providers: this.providers, options },
      [],
    ).then(({ type: _type, id: _id, ...description }) => description as SessionDescription);
    live.opened.catch(() => {}); // observed by `open` and by each run
    return live;
  }

  private call(live: Live, message: Call, transfer: ArrayBuffer[]): Promise<FromPriorWorker> {
    if (live.lost) return Promise.reject(live.lost);
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      live.pending.set(id, { resolve, reject });
      live.worker.ref();
      live.worker.postMessage({ ...message, id } as ToPriorWorker, transfer);
    });
  }
}
