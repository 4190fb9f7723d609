/** The q-quantile (0..1) of the finite values, by selection on a copy; NaN when there are none. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const all = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) all[n++] = values[i]!;
  if (n === 0) return Number.NaN;
  const v = all.subarray(0, n);
  const pos = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(pos);
  const a = selectKth(v, lo);
  if (pos === lo) return a;
  // Selection leaves every value at or after lo no smaller: the next order statistic is their minimum.
  let b = v[lo + 1]!;
  for (let i = lo + 2; i < n; i++) if (v[i]! < b) b = v[i]!;
  return a + (b - a) * (pos - lo);
}

/**
 * The k-th smallest value (0-based) of `v`, which is reordered in place so that the values
 * before k are no larger and those after no smaller (quickselect, median-of-three pivots):
 * O(n) on average where a sort is O(n log n). `v` must hold no NaN.
 */
export function selectKth(v: Float64Array | Float32Array, k: number): number {
  let lo = 0;
  let hi = v.length - 1;
  for (let round = 0; hi > lo; round++) {
    // Unlucky pivots (adversarial orders): finish by sorting what is left, O(n log n) at worst.
    if (round > 64) {
      v.subarray(lo, hi + 1).sort();
      return v[k]!;
    }
    // Median of three as the pivot, left at hi, which also bounds the scans below.
    const mid = (lo + hi) >> 1;
    if (v[mid]! < v[lo]!) swap(v, mid, lo);
    if (v[hi]! < v[lo]!) swap(v, hi, lo);
    if (v[mid]! < v[hi]!) swap(v, mid, hi);
    const pivot = v[hi]!;
    let i = lo;
    for (let j = lo; j < hi; j++) {
      if (v[j]! < pivot) {
        swap(v, i, j);
        i++;
      }
    }
    swap(v, i, hi);
    // Values equal to the pivot gather after it: skip them all at once (many ties are common).
    let e = i + 1;
    for (let j = i + 1; j <= hi; j++) {
      if (v[j]! === pivot) {
        swap(v, e, j);
        e++;
      }
    }
    if (k < i) hi = i - 1;
    else if (k < e) return pivot;
    else lo = e;
  }
  return v[k]!;
}

function swap(v: Float64Array | Float32Array, i: number, j: number): void {
  const t = v[i]!;
  v[i] = v[j]!;
  v[j] = t;
}

/**
 * How many of `values` are ≥ `threshold` (NaN never is). A function of its own so the loop is
 * optimized on its own: inline in a large async function it ran interpreted, about 8 ms a
 * 640×480 plane in the pipeline's profile.
 */
export function countAtLeast(values: Float32Array, threshold: number): number {
  let n = 0;
  // Without a branch: on a confidence plane the test flips too often to predict. On 3.1 MP
  // (the 12 MP stack's work size) 4.4 ms against 8.8 (coherent values) to 21.6 (noise).
  for (let i = 0; i < values.length; i++) n += +(values[i]! >= threshold);
  return n;
}

export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/** Small, fast, seedable PRNG (mulberry32): synthetic data must be reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviates from a uniform source (Box–Muller). */
export function gaussianSource(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = Math.max(uniform(), 1e-12);
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}
