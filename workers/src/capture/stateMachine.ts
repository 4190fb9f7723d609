import type { CaptureState } from "#shared/service/captureState.ts";

/**
 * The only moves a capture's state may make (docs/capture-state-machine.md). Everything else is
 * refused, so a queue message can never move an `uploading` capture forward without finalize,
 * and a finished capture never goes back.
 *
 *   uploading  → queued      finalize, no stored result for its address
 *   uploading  → done        finalize, the tenant already has the result (cache hit)
 *   queued     → processing  a queue delivery picks the job up
 *   queued     → failed      the dead-letter queue gives up on it, or its deadline passed
 *                            through every re-send (processing_deadline_exceeded)
 *   processing → processing  a redelivery (retry after an overloaded or unreachable GPU)
 *   processing → done        the GPU answered and every output is stored
 *   processing → failed      the GPU refused the job, the dead-letter queue gave up, or the
 *                            deadline passed through every re-send
 */
export const TRANSITIONS: Readonly<Record<CaptureState, readonly CaptureState[]>> = {
  uploading: ["queued", "done"],
  queued: ["processing", "failed"],
  processing: ["processing", "done", "failed"],
  done: [],
  failed: [],
};

/** Why a move is refused: the state it was asked from and to. */
export class IllegalTransition extends Error {
  constructor(
    readonly from: CaptureState,
    readonly to: CaptureState,
  ) {
    super(`capture cannot move from ${from} to ${to}`);
  }
}

export function canTransition(from: CaptureState, to: CaptureState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The new state, or an IllegalTransition thrown. */
export function nextState(from: CaptureState, to: CaptureState): CaptureState {
  if (!canTransition(from, to)) throw new IllegalTransition(from, to);
  return to;
}

/** The error code recorded on a capture waiting for its next delivery (its message: the cause). */
export const RETRYING = "retrying";

/** Whether the capture is waiting on a job (so its deadline runs). */
export const awaitsJob = (s: CaptureState) => s === "queued" || s === "processing";

/** Whether the capture is finished (so its retention runs). */
export const isFinal = (s: CaptureState) => s === "done" || s === "failed";

/** Whether the capture still takes frame uploads. */
export const acceptsFrames = (s: CaptureState) => s === "uploading";
