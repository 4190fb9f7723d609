import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { HybridDepthError } from "#shared/errors.ts";

/** An answer as sent: kept on disk so a replay of its job gets the same bytes. */
export interface StoredAnswer {
  status: number;
  contentType: string;
  body: Uint8Array;
}

/** How a job id's answer came about. */
export type LedgerOutcome = "ran" | "joined" | "stored";

export interface LedgerOptions {
  /** Entries (and answers) older than this are forgotten. */
  retentionMs: number;
  /** Answer bytes kept at most; the oldest answers go first (their entry stays: job_already_done). */
  maxAnswerBytes: number;
  /** A running entry's file is touched this often; one untouched for 3× as long is a dead process's. */
  heartbeatMs: number;
}

type Entry =
  | { state: "running"; fingerprint: string; owner: string; startedAt: number }
  | {
      state: "done";
      fingerprint: string;
      finishedAt: number;
      status: number;
      contentType: string;
      /** Bytes of the answer file; 0 once it was evicted (or never fitted). */
      bytes: number;
    };

const ENTRY = ".json";
const ANSWER = ".answer";

/**
 * The job ids this service (and every process sharing `dir`) has taken on: a job id runs once.
 * The id is recorded on disk before its work starts; a concurrent duplicate in this process joins
 * the running job, one running in another process is told to come back (job_in_progress), and a
 * finished one gets the stored answer while it is kept. A different job under a known id is a
 * job_id_conflict. Failures that a retry may cure (5xx) are forgotten so the retry runs.
 */
export class JobLedger {
  private readonly running = new Map<
    string,
    { fingerprint: string; answer: Promise<StoredAnswer> }
  >();
  private readonly owner = randomUUID();
  private pruning: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    private readonly opts: LedgerOptions,
  ) {}

  static async open(dir: string, opts: LedgerOptions): Promise<JobLedger> {
    await mkdir(dir, { recursive: true });
    const ledger = new JobLedger(dir, opts);
    await ledger.prune();
    return ledger;
  }

  /**
   * The answer to job `jobId` (whose content `fingerprint` names): `work`'s, run at most once
   * across the processes sharing the ledger while the entry is kept.
   */
  async once(
    jobId: string,
    fingerprint: string,
    work: () => Promise<StoredAnswer>,
  ): Promise<{ answer: StoredAnswer; outcome: LedgerOutcome }> {
    const live = this.running.get(jobId);
    if (live) {
      if (live.fingerprint !== fingerprint) throw conflict(jobId, "is running");
      return { answer: await live.answer, outcome: "joined" };
    }
    let outcome: LedgerOutcome = "ran";
    // In the map before the first await, so a duplicate arriving meanwhile joins this one.
    const answer = (async () => {
      const stored = await this.claim(jobId, fingerprint);
      if (stored) {
        outcome = "stored";
        return stored;
      }
      return this.runClaimed(jobId, fingerprint, work);
    })();
    this.running.set(jobId, { fingerprint, answer });
    try {
      return { answer: await answer, outcome };
    } finally {
      this.running.delete(jobId);
    }
  }

  /** Records `jobId` as running here, durably; or the stored answer when it is done already. */
  private async claim(jobId: string, fingerprint: string): Promise<StoredAnswer | undefined> {
    const path = this.path(jobId, ENTRY);
    const mine: Entry = { state: "running", fingerprint, owner: this.owner, startedAt: Date.now() };
    for (let attempt = 0; ; attempt++) {
      try {
        // `wx`: of two processes claiming at once exactly one creates the file.
        const fh = await open(path, "wx");
        try {
          await fh.writeFile(JSON.stringify(mine));
          await fh.sync();
        } finally {
          await fh.close();
        }
        return undefined;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const found = await this.read(jobId);
      // Gone meanwhile (its job failed and was forgotten, or pruned): claim again.
      if (!found && attempt < 2) continue;
      if (found?.entry.state === "done") {
        if (found.entry.fingerprint !== fingerprint) throw conflict(jobId, "was done");
        const body = found.entry.bytes > 0 ? await this.readAnswer(jobId) : undefined;
        if (!body)
          throw new HybridDepthError(
            "JOB_ALREADY_DONE",
            `job ${jobId} ran already and its answer is no longer kept; send a new job id`,
          );
        return { status: found.entry.status, contentType: found.entry.contentType, body };
      }
      // Running elsewhere (or being written): a live owner touches it every heartbeat.
      const stale = found && Date.now() - found.mtimeMs > 3 * this.opts.heartbeatMs;
      if (found?.entry.state === "running" && found.entry.fingerprint !== fingerprint && !stale)
        throw conflict(jobId, "is running");
      if (!stale || attempt > 0)
        throw new HybridDepthError("JOB_IN_PROGRESS", `job ${jobId} is running in another process`);
      // Its process died mid-job: the work was never answered, so it is taken over.
      await unlink(path).catch(() => {});
    }
  }

  private async runClaimed(
    jobId: string,
    fingerprint: string,
    work: () => Promise<StoredAnswer>,
  ): Promise<StoredAnswer> {
    const path = this.path(jobId, ENTRY);
    const heartbeat = setInterval(() => {
      const now = new Date();
      utimes(path, now, now).catch(() => {});
    }, this.opts.heartbeatMs);
    heartbeat.unref();
    let answer: StoredAnswer;
    try {
      answer = await work();
    } catch (e) {
      clearInterval(heartbeat);
      const status = (e as { status?: number }).status;
      // The job's own fault (4xx) is its answer for good; anything else may go well next time.
      if (e instanceof HybridDepthError && status !== undefined && status < 500) {
        await this.store(jobId, fingerprint, {
          status,
          contentType: "application/json",
          body: new TextEncoder().encode(JSON.stringify(e.toJSON())),
        });
      } else await unlink(path).catch(() => {});
      throw e;
    }
    clearInterval(heartbeat);
    await this.store(jobId, fingerprint, answer);
    return answer;
  }

  private async store(jobId: string, fingerprint: string, answer: StoredAnswer): Promise<void> {
    const fits = answer.body.byteLength <= this.opts.maxAnswerBytes;
    if (fits) await this.writeAtomic(this.path(jobId, ANSWER), answer.body);
    const entry: Entry = {
      state: "done",
      fingerprint,
      finishedAt: Date.now(),
      status: answer.status,
      contentType: answer.contentType,
      bytes: fits ? answer.body.byteLength : 0,
    };
    await this.writeAtomic(this.path(jobId, ENTRY), JSON.stringify(entry));
    void this.prune();
  }

  /**
   * Forgets entries past the retention, and evicts the oldest answers beyond the byte bound.
   * One pass at a time; errors only delay it (another process may be pruning the same files).
   */
  prune(): Promise<void> {
    this.pruning ??= this.prunePass()
      .catch(() => {})
      .finally(() => {
        this.pruning = undefined;
      });
    return this.pruning;
  }

  private async prunePass(): Promise<void> {
    const now = Date.now();
    const kept: { id: string; finishedAt: number; bytes: number; entry: Entry }[] = [];
    const names = await readdir(this.dir);
    const entries = new Set(names.filter((n) => n.endsWith(ENTRY)));
    for (const name of names) {
      if (!name.endsWith(ENTRY)) {
        // A crash's leftovers: a temporary file, or an answer whose entry was never written.
        const id = name.slice(0, name.indexOf("."));
        if (entries.has(id + ENTRY) && !name.endsWith(".tmp")) continue;
        const st = await stat(join(this.dir, name)).catch(() => undefined);
        if (st && now - st.mtimeMs > this.opts.retentionMs)
          await unlink(join(this.dir, name)).catch(() => {});
        continue;
      }
      const id = name.slice(0, -ENTRY.length);
      const found = await this.read(id);
      if (!found) continue;
      const { entry, mtimeMs } = found;
      const at = entry.state === "done" ? entry.finishedAt : mtimeMs;
      if (now - at > this.opts.retentionMs) {
        await unlink(this.path(id, ANSWER)).catch(() => {});
        await unlink(this.path(id, ENTRY)).catch(() => {});
      } else if (entry.state === "done" && entry.bytes > 0)
        kept.push({ id, finishedAt: entry.finishedAt, bytes: entry.bytes, entry });
    }
    let total = kept.reduce((n, k) => n + k.bytes, 0);
    for (const k of kept.sort((a, b) => a.finishedAt - b.finishedAt)) {
      if (total <= this.opts.maxAnswerBytes) break;
      // The entry stays (a replay runs nothing), saying the answer is gone.
      await this.writeAtomic(this.path(k.id, ENTRY), JSON.stringify({ ...k.entry, bytes: 0 }));
      await unlink(this.path(k.id, ANSWER)).catch(() => {});
      total -= k.bytes;
    }
  }

  private async read(jobId: string): Promise<{ entry: Entry; mtimeMs: number } | undefined> {
    const path = this.path(jobId, ENTRY);
    try {
      const [text, st] = await Promise.all([readFile(path, "utf8"), stat(path)]);
      try {
        return { entry: JSON.parse(text) as Entry, mtimeMs: st.mtimeMs };
      } catch {
        // Being written by its claimer (or cut short by a crash): running, as old as the file.
        return {
          entry: { state: "running", fingerprint: "", owner: "", startedAt: 0 },
          mtimeMs: st.mtimeMs,
        };
      }
    } catch {
      return undefined;
    }
  }

  private async readAnswer(jobId: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.path(jobId, ANSWER)));
    } catch {
      return undefined;
    }
  }

  /** Written whole or not at all: a reader (or a crash) never sees half a file. */
  private async writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
    const tmp = `${path}.${this.owner}.tmp`;
    const fh = await open(tmp, "w");
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  }

  private path(jobId: string, ext: string): string {
    // Job ids are [A-Za-z0-9_-] (the schema's JOB_ID): safe as file names.
    return join(this.dir, jobId + ext);
  }
}

function conflict(jobId: string, what: string): HybridDepthError {
  return new HybridDepthError(
    "JOB_ID_CONFLICT",
    `a different job with job id ${jobId} ${what}; give each job its own id`,
  );
}
