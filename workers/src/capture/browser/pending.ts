/**
 * The capture in flight, kept in IndexedDB from the end of the sweep until the depth is back:
 * a reload, a crash or a lost connection resumes its uploads (tus, from the server's offset)
 * instead of losing the sweep. One capture at a time, under one key.
 */
import type { CaptureMetadata } from "../../../../shared/src/client/index.ts";

const DB_NAME = "hybriddepth-capture";
const STORE = "pending";
const KEY = "current";

export interface PendingFrame {
  blob: Blob;
  focusDistance: number;
  via: string;
}

export interface PendingCapture {
  /** Sent with every create of this capture: a create repeated after a reload gets the same one. */
  idempotencyKey: string;
  meta: CaptureMetadata;
  frames: PendingFrame[];
  /** Set once the server made the capture. */
  id?: string;
  /** tus upload URLs by frame index, as soon as the server made them. */
  tusUrls: Record<number, string>;
  /** The frames the server holds whole. */
  uploaded: number[];
}

let opened: Promise<IDBDatabase> | undefined;

function db(): Promise<IDBDatabase> {
  opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opened;
}

async function tx<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>) {
  const t = (await db()).transaction(STORE, mode);
  const req = op(t.objectStore(STORE));
  return new Promise<T>((resolve, reject) => {
    // Resolved on commit, not on the request: a reload right after must find the write.
    t.oncomplete = () => resolve(req.result);
    t.onerror = t.onabort = () => reject(t.error ?? req.error);
  });
}

export async function loadPending(): Promise<PendingCapture | undefined> {
  return (await tx("readonly", (s) => s.get(KEY))) as PendingCapture | undefined;
}

export async function savePending(p: PendingCapture): Promise<void> {
  await tx("readwrite", (s) => s.put(p, KEY));
}

export async function clearPending(): Promise<void> {
  await tx("readwrite", (s) => s.delete(KEY));
}

/**
 * Applies `change` to the stored record. Writes are chained, so concurrent uploads' updates
 * (an upload URL here, a finished frame there) never overwrite each other.
 */
let chain: Promise<unknown> = Promise.resolve();
export function updatePending(change: (p: PendingCapture) => void): Promise<void> {
  const next = chain.then(async () => {
    const p = await loadPending();
    if (!p) return;
    change(p);
    await savePending(p);
  });
  chain = next.catch(() => undefined);
  return next;
}
