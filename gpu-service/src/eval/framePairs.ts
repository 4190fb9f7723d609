/**
 * "More frames must not hurt" (issue 15's goal), as the synthetic eval checks it: each scene and
 * camera scored with fewer and with more frames, possibly at several noise seeds.
 */

/** One scored capture: its scene, camera, frame count and `full` AbsRel. */
export interface ScoredCapture {
  scene: string;
  camera: string;
  frames: number;
  absRel: number;
}

export interface FramePair {
  scene: string;
  camera: string;
  /** Mean `full` AbsRel over the seeds, with the fewer and with the more frames. */
  fewer: number;
  more: number;
  /** more ÷ fewer: above 1 where more frames were worse. */
  ratio: number;
  /** At how many seeds the capture with more frames was worse than its twin of that seed. */
  worseSeeds: number;
  seeds: number;
}

/** The frame counts compared (the fewest and the most scored) and every pair at both. */
export interface FramePairs {
  few: number;
  many: number;
  pairs: FramePair[];
}

/**
 * Every scene × camera scored at both the fewest and the most frames in `scored`, in the order
 * they first appear. A pair's captures of one frame count are taken in the order given, and
 * the i-th of each count are twins (the same seed): `scored` must list seeds in the same order
 * for every frame count. A pair with different numbers of captures at the two counts is left out.
 * With fewer than two frame counts there are no pairs (`few` and `many` are then NaN, or equal).
 */
export function framePairs(scored: readonly ScoredCapture[]): FramePairs {
  const counts = [...new Set(scored.map((s) => s.frames))].sort((a, b) => a - b);
  const [few, many] = [counts[0] ?? Number.NaN, counts.at(-1) ?? Number.NaN];
  if (counts.length < 2) return { few, many, pairs: [] };
  const of = (scene: string, camera: string, frames: number) =>
    scored
      .filter((s) => s.scene === scene && s.camera === camera && s.frames === frames)
      .map((s) => s.absRel);
  const keys = new Map(scored.map((s) => [`${s.scene}\u0000${s.camera}`, s]));
  const pairs: FramePair[] = [];
  for (const { scene, camera } of keys.values()) {
    const [a, b] = [of(scene, camera, few), of(scene, camera, many)];
    if (a.length === 0 || a.length !== b.length) continue;
    const [fewer, more] = [average(a), average(b)];
    pairs.push({
      scene,
      camera,
      fewer,
      more,
      ratio: more / fewer,
      worseSeeds: b.filter((v, k) => v > a[k]!).length,
      seeds: a.length,
    });
  }
  return { few, many, pairs };
}

const average = (v: readonly number[]) => v.reduce((x, y) => x + y, 0) / v.length;
