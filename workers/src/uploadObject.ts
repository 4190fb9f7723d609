import { DurableObject } from "cloudflare:workers";
import type { WorkerEnv } from "./env.ts";

/** One tus upload: where its bytes are, how far it got, and who is writing it right now. */
export interface TusUpload {
  id: string;
  owner: string;
  captureId: string;
  index: number;
  /** Upload-Length: the frame's declared size. */
  length: number;
  contentType: string;
  /** R2 part size, fixed at creation so a resume never changes it. */
  partBytes: number;
  /** The frame's R2 key, and the R2 multipart upload that fills it. */
  key: string;
  r2UploadId: string;
  parts: { partNumber: number; etag: string; bytes: number }[];
  /** Bytes durably stored: full parts plus the pending tail object. */
  offset: number;
  tailKey: string;
  tailBytes: number;
  expiresAt: number;
  state: "active" | "completed" | "expired" | "terminated" | "rejected";
  /** The PATCH currently writing, so two never interleave. */
  lease?: { token: string; until: number };
}

export type Acquire =
  | { kind: "ok"; upload: TusUpload }
  | { kind: "state"; upload: TusUpload }
  | { kind: "offset"; offset: number }
  | { kind: "locked" };

/**
 * A PATCH holds the upload this long without a sign of life (bytes arriving, see `renew`) before
 * another may take over: short, so a writer that died with its runtime blocks a resume briefly.
 */
export const LEASE_MS = 10_000;

/**
 * The offset tracker of one tus upload. Progress is recorded only after R2 holds the bytes,
 * so after any interruption `offset` is exactly what a HEAD must report.
 */
export class UploadObject extends DurableObject<WorkerEnv> {
  private load(): Promise<TusUpload | undefined> {
    return this.ctx.storage.get<TusUpload>("upload");
  }

  private async save(u: TusUpload): Promise<TusUpload> {
    await this.ctx.storage.put("upload", u);
    return u;
  }

  async create(u: TusUpload): Promise<void> {
    await this.save(u);
    // Expiration: the alarm frees what an abandoned upload holds.
    await this.ctx.storage.setAlarm(u.expiresAt);
  }

  get(): Promise<TusUpload | undefined> {
    return this.load();
  }

  async acquire(offset: number, token: string, now = Date.now()): Promise<Acquire | undefined> {
    const u = await this.load();
    if (!u) return undefined;
    if (u.state !== "active" || u.expiresAt <= now) return { kind: "state", upload: u };
    if (u.lease && u.lease.until > now && u.lease.token !== token) return { kind: "locked" };
    if (offset !== u.offset) return { kind: "offset", offset: u.offset };
    u.lease = { token, until: now + LEASE_MS };
    return { kind: "ok", upload: await this.save(u) };
  }

  /** A full part is in R2: it absorbs the pending tail, and the offset moves on. */
  async partStored(
    token: string,
    part: { partNumber: number; etag: string; bytes: number },
  ): Promise<TusUpload> {
    const u = (await this.load())!;
    this.checkLease(u, token);
    u.parts.push(part);
    u.tailBytes = 0;
    u.offset = u.parts.reduce((s, p) => s + p.bytes, 0);
    u.lease = { token, until: Date.now() + LEASE_MS };
    return this.save(u);
  }

  /** The bytes short of a part are in the tail object. */
  async tailStored(token: string, tailBytes: number): Promise<TusUpload> {
    const u = (await this.load())!;
    this.checkLease(u, token);
    u.tailBytes = tailBytes;
    u.offset = u.parts.reduce((s, p) => s + p.bytes, 0) + tailBytes;
    return this.save(u);
  }

  async finish(token: string, state: "completed" | "rejected"): Promise<TusUpload> {
    const u = (await this.load())!;
    this.checkLease(u, token);
    u.state = state;
    if (state === "completed") u.offset = u.length;
    delete u.lease;
    await this.ctx.storage.deleteAlarm();
    return this.save(u);
  }

  /** The writing PATCH is alive: its lease runs on. False once another took the upload over. */
  async renew(token: string): Promise<boolean> {
    const u = await this.load();
    if (!u || u.lease?.token !== token) return false;
    u.lease.until = Date.now() + LEASE_MS;
    await this.save(u);
    return true;
  }

  async release(token: string): Promise<void> {
    const u = await this.load();
    if (u?.lease?.token !== token) return;
    delete u.lease;
    await this.save(u);
  }

  /**
   * Termination (and expiry): abort the multipart upload and drop the tail. A DELETE ends an
   * upload in any state, so a completed one answers 404 afterwards; expiry ends active ones only.
   */
  async terminate(state: "terminated" | "expired" = "terminated"): Promise<TusUpload | undefined> {
    const u = await this.load();
    if (!u) return undefined;
    if (u.state === "active") {
      await this.env.BUCKET.resumeMultipartUpload(u.key, u.r2UploadId)
        .abort()
        .catch(() => undefined); // already gone
      await this.env.BUCKET.delete(u.tailKey);
      delete u.lease;
    }
    if (u.state === "active" || state === "terminated") u.state = state;
    await this.ctx.storage.deleteAlarm();
    return this.save(u);
  }

  override async alarm(): Promise<void> {
    await this.terminate("expired");
  }

  private checkLease(u: TusUpload, token: string): void {
    if (u.lease?.token !== token) throw new Error("upload lease lost");
  }
}
