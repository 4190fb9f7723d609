import { HybridDepthError } from "#shared/errors.ts";
import type { FrameReader } from "../service/executeJob.ts";
import type { WireError } from "./workerProtocol.ts";

/** Frames asked for ahead of the one being decoded: the next download overlaps this decode. */
export const LOOKAHEAD = 2;

/**
 * The worker thread's side of a job's frames: asks the HTTP thread for frames in the pipeline's
 * order, at most LOOKAHEAD held (asked for, not yet decoded) at a time, and hands each over once.
 */
export class StreamedFrames implements FrameReader {
  private order: number[] = [];
  private asked = 0;
  private readonly held = new Set<number>();
  private readonly everAsked = new Set<number>();
  private readonly arrived = new Map<number, Uint8Array | WireError>();
  private readonly waiters = new Map<
    number,
    { resolve: (b: Uint8Array) => void; reject: (e: unknown) => void }
  >();

  constructor(
    private readonly need: (index: number) => void,
    private readonly released: (index: number) => void,
  ) {}

  plan(order: readonly number[]): void {
    this.order = [...order];
    this.fill();
  }

  readFrame(index: number): Promise<Uint8Array> {
    if (!this.everAsked.has(index)) this.ask(index);
    const got = this.arrived.get(index);
    if (got !== undefined) {
      this.arrived.delete(index);
      return got instanceof Uint8Array ? Promise.resolve(got) : Promise.reject(toError(got));
    }
    return new Promise((resolve, reject) => this.waiters.set(index, { resolve, reject }));
  }

  release(index: number): void {
    if (this.held.delete(index)) this.released(index);
    this.fill();
  }

  /** From the HTTP thread: a frame's bytes, or why it could not be had. */
  deliver(index: number, value: Uint8Array | WireError): void {
    const w = this.waiters.get(index);
    if (!w) {
      this.arrived.set(index, value);
      return;
    }
    this.waiters.delete(index);
    if (value instanceof Uint8Array) w.resolve(value);
    else w.reject(toError(value));
  }

  private fill(): void {
    while (this.held.size < LOOKAHEAD && this.asked < this.order.length) {
      const i = this.order[this.asked++]!;
      if (!this.everAsked.has(i)) this.ask(i);
    }
  }

  private ask(index: number): void {
    this.held.add(index);
    this.everAsked.add(index);
    this.need(index);
  }
}

function toError(e: WireError): Error {
  return e.kind ? new HybridDepthError(e.kind, e.message) : new Error(e.message);
}
