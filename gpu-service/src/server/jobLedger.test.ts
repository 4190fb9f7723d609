import { mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HybridDepthError } from "#shared/errors.ts";
import { JobLedger, type LedgerOptions, type StoredAnswer } from "./jobLedger.ts";

const opts: LedgerOptions = { retentionMs: 60_000, maxAnswerBytes: 1000, heartbeatMs: 50 };
const answer = (text: string, status = 200): StoredAnswer => ({
  status,
  contentType: "text/plain",
  body: new TextEncoder().encode(text),
});
const text = (a: StoredAnswer) => new TextDecoder().decode(a.body);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "hybriddepth-ledger-unit-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `work` that counts its runs. */
function counted(result: () => StoredAnswer | Promise<StoredAnswer>) {
  const work = async () => {
    work.runs++;
    return result();
  };
  work.runs = 0;
  return work;
}

describe("JobLedger", () => {
  it("keeps a job's own fault (4xx) as its answer, and forgets a 5xx so a retry runs", async () => {
    const ledger = await JobLedger.open(dir, opts);
    const refused = counted(() => {
      throw new HybridDepthError("FRAME_NOT_FOUND", "frame 0: 404");
    });
    await expect(ledger.once("j4", "f", refused)).rejects.toThrow("frame 0: 404");
    const again = await ledger.once("j4", "f", refused);
    expect(refused.runs).toBe(1);
    expect(again).toMatchObject({ outcome: "stored", answer: { status: 422 } });
    expect(JSON.parse(text(again.answer))).toEqual({
      error: { code: "frame_not_found", message: "frame 0: 404" },
    });
    let fail = true;
    const flaky = counted(() => {
      if (fail) throw new HybridDepthError("OVERLOADED");
      return answer("ok");
    });
    await expect(ledger.once("j5", "f", flaky)).rejects.toThrow(HybridDepthError);
    fail = false;
    expect(text((await ledger.once("j5", "f", flaky)).answer)).toBe("ok");
    expect(flaky.runs).toBe(2);
  });

  it("evicts the oldest answers beyond its byte bound: their job ids stay done (job_already_done)", async () => {
    const ledger = await JobLedger.open(dir, opts);
    await ledger.once("old", "f", async () => answer("a".repeat(600)));
    await ledger.prune();
    await new Promise((r) => setTimeout(r, 5)); // "new" finishes strictly later
    await ledger.once("new", "f", async () => answer("b".repeat(600)));
    await ledger.prune();
    const rerun = counted(() => answer("never"));
    await expect(ledger.once("old", "f", rerun)).rejects.toMatchObject({
      code: "job_already_done",
    });
    expect(rerun.runs).toBe(0);
    expect(text((await ledger.once("new", "f", rerun)).answer)).toBe("b".repeat(600));
    // Beyond the bound on its own: done, never stored.
    await ledger.once("huge", "f", async () => answer("c".repeat(2000)));
    await expect(ledger.once("huge", "f", rerun)).rejects.toMatchObject({
      code: "job_already_done",
    });
    expect((await readdir(dir)).filter((n) => n.endsWith(".answer")).sort()).toEqual([
      "new.answer",
    ]);
  });

  it("forgets entries past the retention, and a crash's leftovers", async () => {
    const ledger = await JobLedger.open(dir, { ...opts, retentionMs: 200 });
    await ledger.once("j", "f", async () => answer("first"));
    // What a crash leaves: a temporary file, an answer without its entry.
    await writeFile(join(dir, "k.json.someone.tmp"), "{");
    await writeFile(join(dir, "l.answer"), "orphan");
    await new Promise((r) => setTimeout(r, 300));
    await ledger.prune();
    expect(await readdir(dir)).toEqual([]);
    expect(text((await ledger.once("j", "f", async () => answer("second"))).answer)).toBe("second");
  });

  it("takes over a running entry whose process stopped touching it", async () => {
    const ledger = await JobLedger.open(dir, opts);
    const entry = join(dir, "orphan.json");
    await writeFile(entry, JSON.stringify({ state: "running", fingerprint: "f", owner: "x" }));
    const work = counted(() => answer("done here"));
    // Fresh: another process runs it.
    await expect(ledger.once("orphan", "f", work)).rejects.toMatchObject({
      code: "job_in_progress",
    });
    const past = new Date(Date.now() - 10 * opts.heartbeatMs);
    await utimes(entry, past, past);
    expect(text((await ledger.once("orphan", "f", work)).answer)).toBe("done here");
    expect(work.runs).toBe(1);
  });
});
