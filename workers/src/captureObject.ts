import { DurableObject } from "cloudflare:workers";
import type { CaptureState } from "#shared/service/captureState.ts";
import type { CreateCapture } from "#shared/service/uploadSchema.ts";

export type { CaptureState };

export interface FrameUpload {
  sha256: string;
  bytes: number;
}

export interface CaptureRecord {
  id: string;
  /** Who created it (an API key digest or a JWT subject): only they may read or delete it. */
  owner: string;
  /** The worker's own origin, for the frame URLs handed to the GPU service. */
  origin: string;
  meta: CreateCapture;
  frames: (FrameUpload | null)[];
  state: CaptureState;
  address?: string;
  cacheHit?: boolean;
  attempts: number;
  error?: { code: string; message: string };
  timings?: Record<string, number>;
  createdAt: number;
  updatedAt: number;
  /** sha256 of the create request's metadata: a reused Idempotency-Key must repeat it. */
  requestDigest?: string;
  /** Finalize answers by Idempotency-Key. */
  idempotent: Record<string, FinalizeOutcome>;
}

export type FinalizeOutcome =
  | { kind: "missing"; frames: number[] }
  | { kind: "already"; state: CaptureState }
  | { kind: "address-needed" };

/** One per capture: its state, serialized, so concurrent uploads and finalizes never race. */
export class CaptureObject extends DurableObject {
  private async load(): Promise<CaptureRecord | undefined> {
    return this.ctx.storage.get<CaptureRecord>("record");
  }

  private async save(r: CaptureRecord): Promise<CaptureRecord> {
    r.updatedAt = Date.now();
    await this.ctx.storage.put("record", r);
    return r;
  }

  /** Creates the record unless one exists; returns the existing one (an idempotent retry). */
  async createOnce(
    record: Omit<CaptureRecord, "createdAt" | "updatedAt">,
  ): Promise<CaptureRecord | undefined> {
    const existing = await this.load();
    if (existing) return existing;
    await this.save({ ...record, createdAt: Date.now(), updatedAt: Date.now() });
    return undefined;
  }

  async get(): Promise<CaptureRecord | undefined> {
    return this.load();
  }

  async frameStored(index: number, upload: FrameUpload): Promise<CaptureRecord | undefined> {
    const r = await this.load();
    if (r?.state !== "uploading") return r;
    r.frames[index] = upload;
    return this.save(r);
  }

  /** A frame's upload was terminated: it is missing again. False once the capture is finalized. */
  async frameRemoved(index: number): Promise<boolean> {
    const r = await this.load();
    if (r?.state !== "uploading") return false;
    r.frames[index] = null;
    await this.save(r);
    return true;
  }

  /** First step of finalize: which frames are missing, or whether it already ran. */
  async checkFinalize(idempotencyKey: string | undefined): Promise<FinalizeOutcome | undefined> {
    const r = await this.load();
    if (!r) return undefined;
    if (idempotencyKey && r.idempotent[idempotencyKey]) return r.idempotent[idempotencyKey];
    if (r.state !== "uploading") return { kind: "already", state: r.state };
    const missing = r.frames.flatMap((f, i) => (f ? [] : [i]));
    if (missing.length) return { kind: "missing", frames: missing };
    return { kind: "address-needed" };
  }

  /** Second step: record the content address and whether a result already exists. */
  async finalized(
    address: string,
    cacheHit: boolean,
    idempotencyKey: string | undefined,
  ): Promise<CaptureRecord | undefined> {
    const r = await this.load();
    if (!r) return undefined;
    if (r.state === "uploading") {
      r.address = address;
      r.cacheHit = cacheHit;
      r.state = cacheHit ? "done" : "queued";
    }
    if (idempotencyKey) r.idempotent[idempotencyKey] = { kind: "already", state: r.state };
    return this.save(r);
  }

  async transition(
    state: CaptureState,
    extra: Partial<Pick<CaptureRecord, "error" | "timings" | "attempts">> = {},
  ): Promise<CaptureRecord | undefined> {
    const r = await this.load();
    if (!r) return undefined;
    // A finished capture stays finished: late retries of its job change nothing.
    if (r.state === "done" || (r.state === "failed" && state !== "done")) return r;
    Object.assign(r, extra, { state });
    if (state === "done") delete r.error; // a retry's reason is history once the result exists
    return this.save(r);
  }

  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
