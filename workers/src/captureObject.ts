import { DurableObject } from "cloudflare:workers";
import { sha256Hex } from "#shared/auth/hmac.ts";
import { ERRORS } from "#shared/errors.ts";
import type { CaptureState } from "#shared/service/captureState.ts";
import type { CreateCapture } from "#shared/service/uploadSchema.ts";
import {
  acceptsFrames,
  awaitsJob,
  canTransition,
  isFinal,
  nextState,
  RETRYING,
} from "./capture/stateMachine.ts";
import type { JobMessage, WorkerEnv } from "./env.ts";
import { type RemovedCapture, releaseCaptureStorage } from "./lib/captureStorage.ts";
import { contentAddress } from "./lib/contentAddress.ts";
import { captureLimits } from "./lib/limits.ts";
import { quotaStub } from "./lib/quota.ts";
import { computedBy, resultKey, resultRefKey, sharedResultPrefix } from "./lib/r2Keys.ts";

export type { CaptureState };

export interface FrameUpload {
  sha256: string;
  bytes: number;
  /** The R2 object holding these bytes (frameKey): the one the GPU service downloads. */
  key: string;
}

export interface CaptureRecord {
  id: string;
  /**
   * Counts the captures this id has held: a delete keeps the count, so a capture recreated under
   * the same id (same Idempotency-Key) is a new generation and no job of the old one applies to it.
   */
  generation: number;
  /** Who created it (an API key digest or a JWT subject): only they may read or delete it. */
  owner: string;
  /** The worker's own origin, for the frame URLs handed to the GPU service. */
  origin: string;
  meta: CreateCapture;
  frames: (FrameUpload | null)[];
  state: CaptureState;
  address?: string;
  cacheHit?: boolean;
  /** R2 prefix of the stored outputs, once done. */
  resultPrefix?: string;
  attempts: number;
  /** Times the deadline alarm sent this generation's job again (a lost or stuck message). */
  redrives?: number;
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
  | { kind: "finalized"; state: CaptureState; address: string; cacheHit: boolean };

/** What a job (queue message) is bound to: the capture's generation and content address. */
export type JobBinding = Pick<JobMessage, "generation" | "address">;

export type Advance =
  | { ok: true; record: CaptureRecord }
  | { ok: false; reason: "gone" | "stale" | "illegal"; record?: CaptureRecord };

/**
 * What the one alarm of a capture is for, each with its due time: the deadline of a queued or
 * processing capture, the expiry of one never finalized, the retention of a finished one, and
 * the storage of a removed one, should its remover stop before it freed everything.
 */
export type DueKind = "deadline" | "expiry" | "retention" | "cleanup";
type Due = Partial<Record<DueKind, number>>;
const DUE_KINDS: DueKind[] = ["deadline", "expiry", "retention", "cleanup"];
/** How long a remover has to free a removed capture's storage before the alarm does it. */
const CLEANUP_GRACE_MS = 60_000;

/** What is left of a capture removed by expiry or retention: GET answers 410 to its owner. */
export interface ExpiredCapture {
  owner: string;
  at: number;
  reason: string;
}

/** The tenant scope of results: a digest of the owner, so no principal string names a key. */
export const ownerScope = async (owner: string) =>
  (await sha256Hex(`results-scope\n${owner}`)).slice(0, 32);

/** One per capture: its state, serialized, so concurrent uploads and finalizes never race. */
export class CaptureObject extends DurableObject<WorkerEnv> {
  private async load(): Promise<CaptureRecord | undefined> {
    return this.ctx.storage.get<CaptureRecord>("record");
  }

  private async save(r: CaptureRecord): Promise<CaptureRecord> {
    r.updatedAt = Date.now();
    await this.ctx.storage.put("record", r);
    return r;
  }

  private limits() {
    return captureLimits(this.env);
  }

  /**
   * One alarm serves every due time: `set` and `clear` change them, and the alarm is set to the
   * earliest left (or removed when none is).
   */
  private async schedule(set: Due, clear: DueKind[] = []): Promise<void> {
    const due: Due = { ...((await this.ctx.storage.get<Due>("due")) ?? {}), ...set };
    for (const k of clear) delete due[k];
    await this.ctx.storage.put("due", due);
    const times = Object.values(due);
    if (times.length) await this.ctx.storage.setAlarm(Math.min(...times));
    else await this.ctx.storage.deleteAlarm();
  }

  /** The due times that follow from a state just entered. */
  private async scheduleFor(state: CaptureState): Promise<void> {
    const now = Date.now();
    const { deadlineMs, ttlMs, retentionMs } = this.limits();
    if (state === "uploading")
      await this.schedule({ expiry: now + ttlMs }, ["deadline", "retention"]);
    else if (awaitsJob(state)) await this.schedule({ deadline: now + deadlineMs }, ["expiry"]);
    else await this.schedule({ retention: now + retentionMs }, ["deadline", "expiry"]);
  }

  /** Creates the record unless one exists; returns the existing one (an idempotent retry). */
  async createOnce(
    record: Omit<CaptureRecord, "createdAt" | "updatedAt" | "generation">,
  ): Promise<CaptureRecord | undefined> {
    const existing = await this.load();
    if (existing) return existing;
    // The previous generation's storage is freed first: it shares this id's R2 prefix.
    await this.finishRemoval();
    const generation = ((await this.ctx.storage.get<number>("generation")) ?? 0) + 1;
    await this.ctx.storage.put("generation", generation);
    await this.save({ ...record, generation, createdAt: Date.now(), updatedAt: Date.now() });
    await this.ctx.storage.delete(["expired", "tus"]);
    await this.scheduleFor(record.state);
    return undefined;
  }

  /** A removed capture's storage is free (releaseCaptureStorage finished): nothing left to redo. */
  async removed(): Promise<void> {
    await this.ctx.storage.delete("removing");
    await this.schedule({}, ["cleanup"]);
  }

  /** Frees what a removal left behind, if it did (its remover stopped midway). */
  private async finishRemoval(): Promise<void> {
    const removing = await this.ctx.storage.get<RemovedCapture>("removing");
    if (!removing) return;
    await releaseCaptureStorage(this.env, removing);
    await this.removed();
  }

  async get(): Promise<CaptureRecord | undefined> {
    return this.load();
  }

  /** The record, or what is left of it when it expired. */
  async lookup(): Promise<{ record?: CaptureRecord; expired?: ExpiredCapture }> {
    const record = await this.load();
    if (record) return { record };
    const expired = await this.ctx.storage.get<ExpiredCapture>("expired");
    return expired ? { expired } : {};
  }

  /** A tus upload started for one of its frames (removed with the capture). False: too late. */
  tusStarted(uploadId: string): Promise<boolean> {
    // One step: concurrent tus creations for two frames must not overwrite each other's id.
    return this.ctx.blockConcurrencyWhile(async () => {
      const r = await this.load();
      if (!r || !acceptsFrames(r.state)) return false;
      const tus = (await this.ctx.storage.get<string[]>("tus")) ?? [];
      await this.ctx.storage.put("tus", [...tus, uploadId]);
      return true;
    });
  }

  /**
   * A validated upload becomes the frame (the record switches to its object). Refused (false)
   * once the capture is finalized or deleted; `replaced` is the object it took over from.
   */
  async frameStored(
    index: number,
    upload: FrameUpload,
  ): Promise<{ accepted: boolean; replaced?: string }> {
    const r = await this.load();
    if (!r || !acceptsFrames(r.state)) return { accepted: false };
    const replaced = r.frames[index]?.key;
    r.frames[index] = upload;
    await this.save(r);
    return { accepted: true, ...(replaced && replaced !== upload.key ? { replaced } : {}) };
  }

  /**
   * The upload held in `key` was terminated: if it is the frame, the frame is missing again.
   * False once the capture is finalized.
   */
  async frameRemoved(index: number, key: string): Promise<boolean> {
    const r = await this.load();
    if (!r || !acceptsFrames(r.state)) return false;
    if (r.frames[index]?.key !== key) return true; // another upload replaced it: that one stays
    r.frames[index] = null;
    await this.save(r);
    return true;
  }

  /**
   * Finalize, as one step no other request interleaves with: check the frames, compute the
   * content address, look for the tenant's stored result, move the state and enqueue the job.
   * However many finalizes arrive at once, exactly one moves the capture and at most one job is
   * sent. `prior` is the prior the GPU service now runs (null: unknown, so no cache hit above dff).
   */
  async finalize(
    idempotencyKey: string | undefined,
    prior: string | null,
  ): Promise<FinalizeOutcome | undefined> {
    const outcome = await this.finalizeOnce(idempotencyKey, prior);
    // No longer open: the principal's slot is free (again, harmlessly, on a repeat finalize).
    if (outcome?.kind === "finalized" || outcome?.kind === "already") {
      const r = await this.load();
      if (r) await quotaStub(this.env, r.owner).close(r.id);
    }
    return outcome;
  }

  private finalizeOnce(
    idempotencyKey: string | undefined,
    prior: string | null,
  ): Promise<FinalizeOutcome | undefined> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const r = await this.load();
      if (!r) return undefined;
      if (idempotencyKey && r.idempotent[idempotencyKey]) return r.idempotent[idempotencyKey];
      if (r.state !== "uploading") return { kind: "already", state: r.state };
      const missing = r.frames.flatMap((f, i) => (f ? [] : [i]));
      if (missing.length) return { kind: "missing", frames: missing };
      const address = await contentAddress(r);
      const stage = r.meta.options.stage;
      const known = stage === "dff" || prior !== null;
      const prefix = sharedResultPrefix(
        await ownerScope(r.owner),
        address,
        computedBy(stage, prior),
      );
      const cacheHit =
        known && (await this.env.BUCKET.head(resultKey(prefix, "result.json"))) !== null;
      r.address = address;
      r.cacheHit = cacheHit;
      if (cacheHit) {
        // This capture now uses the stored result too: deleting another capture keeps it.
        await this.env.BUCKET.put(resultRefKey(prefix, r.id), "");
        r.resultPrefix = prefix;
        r.state = "done";
      } else {
        await this.env.JOBS.send({ captureId: r.id, generation: r.generation, address });
        r.state = "queued";
      }
      const outcome: FinalizeOutcome = { kind: "finalized", state: r.state, address, cacheHit };
      if (idempotencyKey) r.idempotent[idempotencyKey] = { kind: "already", state: r.state };
      r.redrives = 0;
      await this.save(r);
      await this.scheduleFor(r.state);
      return outcome;
    });
  }

  /**
   * Moves a job's capture to `to`, only when the job is bound to it (same generation, same
   * address, and the address still what the stored frames and metadata give) and the state
   * machine allows the move. Anything else is refused, and says why.
   */
  async advance(
    job: JobBinding,
    to: CaptureState,
    extra: Partial<Pick<CaptureRecord, "error" | "timings" | "attempts" | "resultPrefix">> = {},
  ): Promise<Advance> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const r = await this.load();
      if (!r) return { ok: false, reason: "gone" };
      if (r.generation !== job.generation || r.address !== job.address)
        return { ok: false, reason: "stale", record: r };
      if (!canTransition(r.state, to)) return { ok: false, reason: "illegal", record: r };
      // The frames and metadata the job will fuse are the ones its address was computed from.
      if ((await contentAddress(r)) !== job.address)
        return { ok: false, reason: "stale", record: r };
      Object.assign(r, extra, { state: to });
      if (to === "done") delete r.error; // a retry's reason is history once the result exists
      await this.save(r);
      // Each step of a job is progress: the deadline runs from the latest.
      await this.scheduleFor(to);
      return { ok: true, record: r };
    });
  }

  /**
   * Removes the record and its due times, and says what it held: the caller frees it
   * (releaseCaptureStorage) and reports `removed()`; until then the alarm holds it as `cleanup`,
   * so storage is freed even when the caller stops midway. The generation count stays so the id
   * never returns to an old history. `expired`: leave a note so the owner is told 410, not 404.
   */
  destroy(expired?: string): Promise<RemovedCapture | undefined> {
    return this.ctx.blockConcurrencyWhile(() => this.destroyNow(expired));
  }

  private async destroyNow(expired?: string): Promise<RemovedCapture | undefined> {
    const record = await this.load();
    if (!record) return undefined;
    const tusUploads = (await this.ctx.storage.get<string[]>("tus")) ?? [];
    const removed: RemovedCapture = { record, tusUploads };
    await this.ctx.storage.delete(["record", "tus", "due"]);
    await this.ctx.storage.put("removing", removed);
    await this.schedule({ cleanup: Date.now() + CLEANUP_GRACE_MS });
    if (expired)
      await this.ctx.storage.put("expired", {
        owner: record.owner,
        at: Date.now(),
        reason: expired,
      } satisfies ExpiredCapture);
    return removed;
  }

  /**
   * The alarm: whatever is due. A fired alarm always handles its earliest entry (a test's
   * runDurableObjectAlarm runs it early); the others wait for their own time.
   */
  override async alarm(): Promise<void> {
    const due = (await this.ctx.storage.get<Due>("due")) ?? {};
    const times = Object.values(due);
    if (!times.length) return;
    const now = Math.max(Date.now(), Math.min(...times));
    const isDue = (k: DueKind) => due[k] !== undefined && due[k] <= now;
    if (isDue("cleanup")) await this.finishRemoval();
    const r = await this.load();
    if (!r) return this.schedule({}, DUE_KINDS);
    if (isDue("deadline")) await this.deadlinePassed();
    else if (isDue("expiry") && acceptsFrames(r.state))
      await this.remove("never finalized in time");
    else if (isDue("retention") && isFinal(r.state)) await this.remove("retention period ended");
    else await this.scheduleFor(r.state); // a stale entry: re-derive from the state
  }

  /**
   * Queued or processing with no progress for the deadline: the job message was lost (or its
   * consumer died), so the same job is sent again. A repeat finalize never does this (it
   * answers `already`): only the deadline re-drives, so at most one re-send per deadline. After
   * the budget the capture fails, keeping the first real cause a retry recorded.
   */
  private async deadlinePassed(): Promise<void> {
    await this.ctx.blockConcurrencyWhile(async () => {
      const r = await this.load();
      if (!r || !awaitsJob(r.state) || !r.address) return this.scheduleFor(r?.state ?? "failed");
      const { deadlineMs, redriveAttempts } = this.limits();
      const sent = r.redrives ?? 0;
      if (sent < redriveAttempts) {
        await this.env.JOBS.send({ captureId: r.id, generation: r.generation, address: r.address });
        r.redrives = sent + 1;
        await this.save(r);
        await this.schedule({ deadline: Date.now() + deadlineMs });
        return;
      }
      const cause =
        r.error?.code === RETRYING ? r.error.message : (r.error?.message ?? "none recorded");
      r.state = nextState(r.state, "failed");
      r.error = {
        code: ERRORS.PROCESSING_DEADLINE_EXCEEDED.code,
        message: `no progress within ${deadlineMs / 1000} s, ${sent} re-sends included; first cause: ${cause}`,
      };
      await this.save(r);
      await this.scheduleFor(r.state);
    });
  }

  /** Expiry and retention: removed as DELETE removes it, with a note for the owner's 410. */
  private async remove(reason: string): Promise<void> {
    const removed = await this.destroy(reason);
    if (!removed) return;
    await releaseCaptureStorage(this.env, removed);
    await this.removed();
  }
}
