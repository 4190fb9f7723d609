import { DurableObject } from "cloudflare:workers";
import type { ErrorKind } from "#shared/errors.ts";
import type { WorkerEnv } from "./env.ts";
import type { captureLimits } from "./lib/limits.ts";

/** The limits, from the calling worker's environment. */
export type QuotaLimits = Pick<
  ReturnType<typeof captureLimits>,
  "maxOpenCaptures" | "maxStoredBytes"
>;

/** What one capture holds against its principal's quota. */
interface Held {
  /** Not finalized yet. */
  open: boolean;
  /** The frame bytes it declared (reserved at create, so uploads never overrun the quota). */
  bytes: number;
}

interface Totals {
  open: number;
  bytes: number;
}

export type Reservation =
  | { ok: true }
  | {
      ok: false;
      kind: Extract<ErrorKind, "TOO_MANY_OPEN_CAPTURES" | "STORAGE_QUOTA_EXCEEDED">;
      totals: Totals;
    };

/**
 * One per principal (API key digest or JWT subject): its open captures and declared bytes.
 * Each change runs under blockConcurrencyWhile (read, check, write as one step): concurrent
 * creates never both take the last slot. (Storage awaits alone did not serialize them: a test
 * of 25 concurrent creates once let 24 through a limit of 20.)
 */
export class PrincipalQuota extends DurableObject<WorkerEnv> {
  private totals(): Promise<Totals> {
    return this.ctx.storage.get<Totals>("totals").then((t) => t ?? { open: 0, bytes: 0 });
  }

  private async write(key: string, held: Held | undefined, totals: Totals): Promise<void> {
    if (held) await this.ctx.storage.put({ [key]: held, totals });
    else {
      await this.ctx.storage.delete(key);
      await this.ctx.storage.put("totals", totals);
    }
  }

  /** A new capture of `bytes` declared frame bytes; a retried create (same id) holds nothing more. */
  reserve(captureId: string, bytes: number, limits: QuotaLimits): Promise<Reservation> {
    return this.ctx.blockConcurrencyWhile(() => this.reserveNow(captureId, bytes, limits));
  }

  private async reserveNow(
    captureId: string,
    bytes: number,
    { maxOpenCaptures, maxStoredBytes }: QuotaLimits,
  ): Promise<Reservation> {
    const key = `capture:${captureId}`;
    if (await this.ctx.storage.get<Held>(key)) return { ok: true };
    const t = await this.totals();
    if (t.open + 1 > maxOpenCaptures)
      return { ok: false, kind: "TOO_MANY_OPEN_CAPTURES", totals: t };
    if (t.bytes + bytes > maxStoredBytes)
      return { ok: false, kind: "STORAGE_QUOTA_EXCEEDED", totals: t };
    await this.write(key, { open: true, bytes }, { open: t.open + 1, bytes: t.bytes + bytes });
    return { ok: true };
  }

  /** Finalized: no longer open (its bytes stay until it is removed). */
  close(captureId: string): Promise<void> {
    return this.ctx.blockConcurrencyWhile(() => this.closeNow(captureId));
  }

  private async closeNow(captureId: string): Promise<void> {
    const key = `capture:${captureId}`;
    const held = await this.ctx.storage.get<Held>(key);
    if (!held?.open) return;
    const t = await this.totals();
    await this.write(key, { ...held, open: false }, { ...t, open: t.open - 1 });
  }

  /** Removed (DELETE, expiry, retention, a create that did not complete): all it held is free. */
  release(captureId: string): Promise<void> {
    return this.ctx.blockConcurrencyWhile(() => this.releaseNow(captureId));
  }

  private async releaseNow(captureId: string): Promise<void> {
    const key = `capture:${captureId}`;
    const held = await this.ctx.storage.get<Held>(key);
    if (!held) return;
    const t = await this.totals();
    await this.write(key, undefined, {
      open: t.open - (held.open ? 1 : 0),
      bytes: t.bytes - held.bytes,
    });
  }

  usage(): Promise<Totals> {
    return this.totals();
  }
}
