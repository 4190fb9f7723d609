/**
 * Waiting for a lens to settle after a focus request. `applyConstraints` resolves before the
 * lens has moved and `getSettings()` echoes the request, so the only evidence is the frames:
 * wait at least `minFrames` new frames and `minWaitMs` (a lens that has not started moving
 * looks settled), then until the sharpness stops changing, always within `timeoutMs`.
 */
export interface SettleOptions {
  /** Resolves at the next camera frame (e.g. `requestVideoFrameCallback`). */
  nextFrame: () => Promise<void>;
  /** Sharpness of the current frame. */
  measure: () => number;
  now?: () => number;
  minFrames?: number;
  minWaitMs?: number;
  /** Relative change between consecutive frames below which the lens is at rest. */
  tolerance?: number;
  /** Consecutive stable frames required. */
  stableFrames?: number;
  timeoutMs?: number;
}

export interface SettleOutcome {
  settled: boolean;
  frames: number;
  waitedMs: number;
}

export const DEFAULT_SETTLE = {
  minFrames: 4,
  minWaitMs: 250,
  tolerance: 0.03,
  stableFrames: 3,
  timeoutMs: 2500,
} as const;

export async function waitForLensSettle(opts: SettleOptions): Promise<SettleOutcome> {
  const now = opts.now ?? (() => Date.now());
  const o = { ...DEFAULT_SETTLE, ...opts };
  const start = now();
  let frames = 0;
  let stable = 0;
  let last = Number.NaN;
  for (;;) {
    await o.nextFrame();
    frames++;
    const v = o.measure();
    const waited = now() - start;
    const change = Math.abs(v - last) / Math.max(Math.abs(last), 1e-9);
    stable = change <= o.tolerance ? stable + 1 : 0;
    last = v;
    if (frames >= o.minFrames && waited >= o.minWaitMs && stable >= o.stableFrames)
      return { settled: true, frames, waitedMs: waited };
    if (waited >= o.timeoutMs) return { settled: false, frames, waitedMs: waited };
  }
}
